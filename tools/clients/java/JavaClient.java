/*
 * The Java kafka-clients library driven from tests: produce, consume and a few admin calls
 * against any Kafka-protocol broker, with records as JSON lines so that Python tests can
 * compare what every client sent and received.
 *
 * Usage (every command takes --bootstrap-server HOST:PORT and repeatable --property K=V,
 * passed unchanged to the Kafka client's configuration):
 *
 *   produce --topic T
 *       stdin: one record per line, {"key": b64|null, "value": b64|null,
 *              "headers": [[name, b64|null], ...], "partition": int|null, "timestamp": ms|null}
 *       exits 0 once every record is acknowledged
 *   consume --topic T --count N --timeout-ms MS [--group G]
 *       without --group, assigns every partition and reads from the beginning;
 *       with --group, subscribes with auto.offset.reset=earliest and commits on close.
 *       stdout: one line per record, {"topic", "partition", "offset", "timestamp", "key",
 *               "value", "headers"} with bytes in base64; exit status 3 if fewer than N
 *               records arrived before the timeout.
 *   create-topic --topic T [--partitions P] [--replication-factor R] [--config K=V ...]
 *   delete-topic --topic T
 *   list-topics            stdout: one topic name per line
 *
 * Any failure prints the exception on stderr and exits with status 1.
 */

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeSet;
import java.util.concurrent.Future;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public final class JavaClient {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int EXIT_TIMED_OUT = 3;

    private final Map<String, List<String>> options = new HashMap<>();
    private final PrintStream out =
            new PrintStream(System.out, false, StandardCharsets.UTF_8);

    private JavaClient(String[] args, int from) {
        for (int i = from; i < args.length; i += 2) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                throw new IllegalArgumentException("expected --name value, got " + args[i]);
            }
            options.computeIfAbsent(args[i].substring(2), k -> new ArrayList<>()).add(args[i + 1]);
        }
    }

    public static void main(String[] args) {
        if (args.length == 0) {
            System.err.println("usage: JavaClient produce|consume|create-topic|delete-topic|list-topics ...");
            System.exit(2);
        }
        try {
            JavaClient client = new JavaClient(args, 1);
            int status = client.run(args[0]);
            client.out.flush();
            System.exit(status);
        } catch (Exception e) {
            e.printStackTrace();
            System.exit(1);
        }
    }

    private int run(String command) throws Exception {
        switch (command) {
            case "produce":
                return produce();
            case "consume":
                return consume();
            case "create-topic":
                return createTopic();
            case "delete-topic":
                return deleteTopic();
            case "list-topics":
                return listTopics();
            default:
                throw new IllegalArgumentException("unknown command " + command);
        }
    }

    private String required(String name) {
        List<String> values = options.get(name);
        if (values == null) {
            throw new IllegalArgumentException("--" + name + " is required");
        }
        return values.get(values.size() - 1);
    }

    private Optional<String> optional(String name) {
        List<String> values = options.get(name);
        return values == null ? Optional.empty() : Optional.of(values.get(values.size() - 1));
    }

    private Map<String, String> pairs(String name) {
        Map<String, String> result = new HashMap<>();
        for (String pair : options.getOrDefault(name, List.of())) {
            int eq = pair.indexOf('=');
            if (eq < 0) {
                throw new IllegalArgumentException("--" + name + " wants K=V, got " + pair);
            }
            result.put(pair.substring(0, eq), pair.substring(eq + 1));
        }
        return result;
    }

    /** The client configuration: bootstrap servers, then every --property on top. */
    private Properties config() {
        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, required("bootstrap-server"));
        props.putAll(pairs("property"));
        return props;
    }

    private int produce() throws Exception {
        Properties props = config();
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        String topic = required("topic");
        List<Future<RecordMetadata>> acks = new ArrayList<>();
        BufferedReader in =
                new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props)) {
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                if (!line.isBlank()) {
                    acks.add(producer.send(toProducerRecord(topic, JSON.readTree(line))));
                }
            }
            producer.flush();
            for (Future<RecordMetadata> ack : acks) {
                ack.get();
            }
        }
        return 0;
    }

    private static ProducerRecord<byte[], byte[]> toProducerRecord(String topic, JsonNode json) {
        List<Header> headers = new ArrayList<>();
        JsonNode jsonHeaders = json.path("headers");
        for (JsonNode header : jsonHeaders) {
            headers.add(new RecordHeader(header.get(0).asText(), bytes(header.get(1))));
        }
        JsonNode partition = json.path("partition");
        JsonNode timestamp = json.path("timestamp");
        return new ProducerRecord<>(
                topic,
                partition.isNumber() ? partition.asInt() : null,
                timestamp.isNumber() ? timestamp.asLong() : null,
                bytes(json.path("key")),
                bytes(json.path("value")),
                headers);
    }

    private int consume() throws Exception {
        Properties props = config();
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        Optional<String> group = optional("group");
        group.ifPresent(g -> props.put(ConsumerConfig.GROUP_ID_CONFIG, g));
        props.putIfAbsent(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        String topic = required("topic");
        int count = Integer.parseInt(required("count"));
        long deadline = System.currentTimeMillis() + Long.parseLong(required("timeout-ms"));
        int received = 0;
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props)) {
            if (group.isPresent()) {
                consumer.subscribe(List.of(topic));
            } else {
                List<TopicPartition> partitions = new ArrayList<>();
                for (PartitionInfo info : consumer.partitionsFor(topic, Duration.ofMillis(deadline - System.currentTimeMillis()))) {
                    partitions.add(new TopicPartition(topic, info.partition()));
                }
                consumer.assign(partitions);
                consumer.seekToBeginning(partitions);
            }
            while (received < count) {
                long left = deadline - System.currentTimeMillis();
                if (left <= 0) {
                    System.err.printf("timed out after %d of %d records%n", received, count);
                    return EXIT_TIMED_OUT;
                }
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(Math.min(left, 500)))) {
                    if (received < count) {
                        out.println(JSON.writeValueAsString(toJson(record)));
                        received++;
                    }
                }
            }
            if (group.isPresent()) {
                consumer.commitSync();
            }
        }
        return 0;
    }

    private static ObjectNode toJson(ConsumerRecord<byte[], byte[]> record) {
        ObjectNode json = JSON.createObjectNode();
        json.put("topic", record.topic());
        json.put("partition", record.partition());
        json.put("offset", record.offset());
        json.put("timestamp", record.timestamp());
        json.put("key", base64(record.key()));
        json.put("value", base64(record.value()));
        ArrayNode headers = json.putArray("headers");
        for (Header header : record.headers()) {
            headers.addArray().add(header.key()).add(base64(header.value()));
        }
        return json;
    }

    private int createTopic() throws Exception {
        Optional<Integer> partitions = optional("partitions").map(Integer::parseInt);
        Optional<Short> replication = optional("replication-factor").map(Short::parseShort);
        NewTopic topic = new NewTopic(required("topic"), partitions, replication).configs(pairs("config"));
        try (Admin admin = Admin.create(config())) {
            admin.createTopics(List.of(topic)).all().get();
        }
        return 0;
    }

    private int deleteTopic() throws Exception {
        try (Admin admin = Admin.create(config())) {
            admin.deleteTopics(List.of(required("topic"))).all().get();
        }
        return 0;
    }

    private int listTopics() throws Exception {
        try (Admin admin = Admin.create(config())) {
            for (String name : new TreeSet<>(admin.listTopics().names().get())) {
                out.println(name);
            }
        }
        return 0;
    }

    private static byte[] bytes(JsonNode node) {
        return node == null || node.isNull() || node.isMissingNode()
                ? null
                : Base64.getDecoder().decode(node.asText());
    }

    private static String base64(byte[] bytes) {
        return bytes == null ? null : Base64.getEncoder().encodeToString(bytes);
    }
}
