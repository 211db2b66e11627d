// kafkajs driven from tests: produce and consume against any Kafka-protocol broker, with
// records as JSON lines so that Python tests can compare what every client sent and received.
//
// Usage (both commands take --bootstrap-server HOST:PORT and --topic T; --options JSON is
// merged into the options of kafka.producer() or kafka.consumer()):
//
//   node client.js produce ...
//       stdin: one record per line, {"key": b64|null, "value": b64|null,
//              "headers": [[name, b64|null], ...], "partition": int|null, "timestamp": ms|null}
//   node client.js admin --partitions N ...
//       creates, grows, configures, describes and deletes the topic; prints one JSON line.
//   node client.js consume --count N --timeout-ms MS [--group G] ...
//       kafkajs always consumes in a group: without --group a fresh one is made up.
//       Reads from the beginning; prints one line per record, {"topic", "partition",
//       "offset", "timestamp", "key", "value", "headers"} with bytes in base64; exit status 3
//       if fewer than N records arrived before the timeout.
//
// The modules come from NODE_PATH (tools/install-test-deps.sh installs them in a cache).
'use strict';

// The default-partitioner notice would otherwise be logged on every producer start.
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
const { Kafka, logLevel } = require('kafkajs');
const readline = require('readline');
const crypto = require('crypto');

const EXIT_TIMED_OUT = 3;

function parseArgs(argv) {
  const options = {};
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || i + 1 >= argv.length) {
      throw new Error(`expected --name value, got ${argv[i]}`);
    }
    options[argv[i].slice(2)] = argv[i + 1];
  }
  return options;
}

function required(options, name) {
  if (options[name] === undefined) throw new Error(`--${name} is required`);
  return options[name];
}

const LEVEL_NAMES = Object.fromEntries(Object.entries(logLevel).map(([name, value]) => [value, name]));

// stdout carries records only, so the client's own log goes to stderr.
function stderrLogCreator() {
  return ({ level, log }) => {
    const { message, ...extra } = log;
    process.stderr.write(`[kafkajs ${LEVEL_NAMES[level]}] ${message} ${JSON.stringify(extra)}\n`);
  };
}

function connect(options) {
  return new Kafka({
    clientId: 'odradek-kafkajs',
    brokers: required(options, 'bootstrap-server').split(','),
    logLevel: logLevel.WARN,
    logCreator: stderrLogCreator,
  });
}

const fromBase64 = (text) => (text === null || text === undefined ? null : Buffer.from(text, 'base64'));
const toBase64 = (bytes) => (bytes === null || bytes === undefined ? null : bytes.toString('base64'));

function toMessage(json) {
  // kafkajs takes headers as an object: repeated names become an array, in order.
  const headers = {};
  for (const [name, value] of json.headers || []) {
    const bytes = fromBase64(value);
    if (name in headers) headers[name] = [].concat(headers[name], bytes);
    else headers[name] = bytes;
  }
  const message = { key: fromBase64(json.key), value: fromBase64(json.value), headers };
  if (json.partition !== null && json.partition !== undefined) message.partition = json.partition;
  if (json.timestamp !== null && json.timestamp !== undefined) message.timestamp = String(json.timestamp);
  return message;
}

async function readRecords() {
  const messages = [];
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim() !== '') messages.push(toMessage(JSON.parse(line)));
  }
  return messages;
}

async function produce(options) {
  const messages = await readRecords();
  const producer = connect(options).producer(JSON.parse(options.options || '{}'));
  await producer.connect();
  try {
    await producer.send({ topic: required(options, 'topic'), messages, acks: -1 });
  } finally {
    await producer.disconnect();
  }
  return 0;
}

function headersToJson(headers) {
  const result = [];
  for (const [name, value] of Object.entries(headers || {})) {
    for (const bytes of Array.isArray(value) ? value : [value]) result.push([name, toBase64(bytes)]);
  }
  return result;
}

async function consume(options) {
  const topic = required(options, 'topic');
  const count = Number(required(options, 'count'));
  const timeoutMs = Number(required(options, 'timeout-ms'));
  const groupId = options.group || `odradek-kafkajs-${crypto.randomUUID()}`;
  const consumer = connect(options).consumer({ groupId, ...JSON.parse(options.options || '{}') });
  let received = 0;
  let done;
  const finished = new Promise((resolve) => {
    done = resolve;
  });
  const timer = setTimeout(() => done(false), timeoutMs);
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic: from, partition, message }) => {
        if (received >= count) return;
        const line = {
          topic: from,
          partition,
          offset: Number(message.offset),
          timestamp: Number(message.timestamp),
          key: toBase64(message.key),
          value: toBase64(message.value),
          headers: headersToJson(message.headers),
        };
        process.stdout.write(`${JSON.stringify(line)}\n`);
        received += 1;
        if (received === count) done(true);
      },
    });
    if (count === 0) done(true);
    const complete = await finished;
    if (!complete) {
      process.stderr.write(`timed out after ${received} of ${count} records\n`);
      return EXIT_TIMED_OUT;
    }
    return 0;
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
  }
}

// The admin round of the tests: create the topic with --partitions N, grow it by one
// partition, set and read back a topic config, list and describe, then delete it. Prints
// one JSON line with what each step saw.
async function admin(options) {
  const topic = required(options, 'topic');
  const partitions = Number(required(options, 'partitions'));
  const client = connect(options).admin();
  await client.connect();
  try {
    const created = await client.createTopics({
      topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }],
      waitForLeaders: true,
    });
    await client.createPartitions({ topicPartitions: [{ topic, count: partitions + 1 }] });
    await client.alterConfigs({
      resources: [{ type: 2, name: topic, configEntries: [{ name: 'retention.ms', value: '4242' }] }],
    });
    const configs = await client.describeConfigs({
      resources: [{ type: 2, name: topic, configNames: ['retention.ms'] }],
      includeSynonyms: false,
    });
    const metadata = await client.fetchTopicMetadata({ topics: [topic] });
    const listed = await client.listTopics();
    await client.deleteTopics({ topics: [topic] });
    const afterDelete = await client.listTopics();
    process.stdout.write(`${JSON.stringify({
      created,
      partitions: metadata.topics[0].partitions.length,
      retentionMs: configs.resources[0].configEntries[0].configValue,
      listed: listed.includes(topic),
      listedAfterDelete: afterDelete.includes(topic),
    })}\n`);
    return 0;
  } finally {
    await client.disconnect();
  }
}

async function main() {
  const [command, ...rest] = process.argv.slice(2);
  const options = parseArgs(rest);
  if (command === 'produce') return produce(options);
  if (command === 'consume') return consume(options);
  if (command === 'admin') return admin(options);
  throw new Error(`unknown command ${command}: expected produce, consume or admin`);
}

main().then(
  // An explicit exit: kafkajs may leave timers behind that would keep the process alive.
  (status) => process.exit(status),
  (error) => {
    process.stderr.write(`${error.stack || error}\n`);
    process.exit(1);
  },
);
