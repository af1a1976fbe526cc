import { readFileSync } from 'node:fs';
import { Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

/** The state-cache config: the one contract between the constructs and the runtime. */
export const ConfigSchema = Type.Object({
  server: Type.Object({
    port: Type.Integer({ minimum: 1, maximum: 65535, default: 6379, description: 'RESP port.' }),
  }, { default: {}, additionalProperties: false }),
}, { additionalProperties: false, $id: 'https://cdk8s-state.dev/state-cache/config.schema.json' });

export type Config = Static<typeof ConfigSchema>;

/** Reads and validates a config file; throws with every problem and its JSON path. */
export function loadConfig(file: string): Config {
  const raw = JSON.parse(readFileSync(file, 'utf8'));
  const withDefaults = Value.Default(ConfigSchema, raw);
  const errors = [...Value.Errors(ConfigSchema, withDefaults)].map((e) => `${e.path || '/'}: ${e.message}`);
  if (errors.length > 0) throw new Error(errors.join('\n'));
  return withDefaults as Config;
}
