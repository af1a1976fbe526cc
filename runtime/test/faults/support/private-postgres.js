// A custom store for the fault tests: the real postgres store of state-cache
// (compiled, lib/), declared as not shared. Passivation refuses shared stores,
// and the postgres store is shared by design; a table only one instance writes
// is what passivation needs. Options: the fields of a postgres store config.
const { join } = require('node:path');

const lib = join(__dirname, '..', '..', '..', 'lib', 'stores');
const { PostgresStore } = require(join(lib, 'postgres.js'));
const { parseStoresConfig } = require(join(lib, 'config.js'));

exports.createStore = (options, context) => {
  const config = parseStoresConfig({ chain: [{ store: { ...options, type: 'postgres' } }] }).chain[0].store;
  const store = new PostgresStore(config, context);
  Object.defineProperty(store, 'characteristics', { value: { ...store.characteristics, shareable: false } });
  return store;
};
