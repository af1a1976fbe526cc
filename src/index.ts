export * from './cache-image';
