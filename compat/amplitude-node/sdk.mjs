// Drives the official Amplitude Node SDK against a Touchpoint server:
// SERVER_URL (base URL) and API_KEY come from the environment. Prints one
// JSON line per call with the SDK's result code; compat_test.go checks
// what arrived.
import { createInstance, Identify, Revenue } from '@amplitude/analytics-node';

const base = process.env.SERVER_URL;
const apiKey = process.env.API_KEY;
const results = [];
const record = (name) => (r) => results.push({ name, code: r.code, message: r.message });

async function main() {
  const http = createInstance();
  await http.init(apiKey, { serverUrl: base + '/2/httpapi', flushIntervalMillis: 50, flushQueueSize: 100, logLevel: 0 }).promise;
  const user = { user_id: 'sdk-user-1', device_id: 'sdk-device-1', platform: 'Node', insert_id: undefined };
  const calls = [
    http.track('Button Clicked', { color: 'red', count: 3, nested: { a: [1, 2] } }, user).promise.then(record('track')),
    http.identify(new Identify().set('plan', 'gold').add('logins', 2).append('tags', 'beta').setOnce('first_seen', '2026-11-23'), user).promise.then(record('identify')),
    http.revenue(new Revenue().setProductId('sku-1').setPrice(4.99).setQuantity(2), user).promise.then(record('revenue')),
    http.groupIdentify('org', 'acme', new Identify().set('tier', 'enterprise'), user).promise.then(record('groupIdentify')),
  ];
  await Promise.all(calls);
  await http.track('Level Up', { level: 7 }, user).promise.then(record('track-after-identify'));
  await http.flush().promise;

  // The batch endpoint (useBatch with a serverUrl of ours).
  const batch = createInstance();
  await batch.init(apiKey, { serverUrl: base + '/batch', useBatch: true, flushIntervalMillis: 50, logLevel: 0 }).promise;
  const many = [];
  for (let i = 0; i < 50; i++) {
    many.push(batch.track('Batch Event', { i }, { device_id: 'sdk-device-2' }).promise.then(record('batch')));
  }
  await Promise.all(many);
  await batch.flush().promise;
  console.log(JSON.stringify(results));
}

main().catch((e) => { console.error(e); process.exit(1); });
