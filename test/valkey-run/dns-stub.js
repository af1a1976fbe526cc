/*
 * Preloaded into Node processes the Valkey run-as-pod test starts (node
 * --require): names in the test's hosts table (file in TEST_DNS_FILE, read
 * on every lookup) resolve to their loopback address, as the headless
 * Service's records would in a cluster; every other name goes to the real
 * resolver. /etc/hosts is not touched.
 */
'use strict';
const dns = require('node:dns');
const { readFileSync } = require('node:fs');

const file = process.env.TEST_DNS_FILE;
const original = dns.lookup;

function fromTable(name) {
  if (!file) return undefined;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [address, host] = line.trim().split(/\s+/);
    if (host === name) return address;
  }
  return undefined;
}

dns.lookup = function lookup(hostname, options, callback) {
  const cb = typeof options === 'function' ? options : callback;
  const opts = typeof options === 'function' || options === undefined ? {} : (typeof options === 'number' ? { family: options } : options);
  const address = fromTable(hostname);
  if (address === undefined) return original.call(dns, hostname, options, callback);
  process.nextTick(() => (opts.all ? cb(null, [{ address, family: 4 }]) : cb(null, address, 4)));
  return {};
};
