package dev.quiver.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import com.fasterxml.jackson.dataformat.csv.CsvParser;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto.Type;
import dev.quiver.client.OnlineRequest;
import dev.quiver.client.OnlineResult;
import dev.quiver.client.QuiverClient;
import dev.quiver.ingestion.JsonRecordDecoder;
import dev.quiver.ingestion.RecordEncoder;
import dev.quiver.kafka.EmbeddedKafka;
import dev.quiver.offline.export.TrainingSetExport;
import dev.quiver.proto.v1.FeatureStatus;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.proto.v1.Source;
import dev.quiver.registry.formats.TestProtos;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Done when: an Avro and a Protobuf source, each plain and in the schema-registry wire format,
 * carrying the same events as a JSON source, give the same feature values as the JSON source
 * through the whole server — online over gRPC and offline in the Parquet store's export.
 */
class FormatsAgreeWithJsonTest {
  @TempDir Path dir;

  static final List<String> SOURCES =
      List.of("json_src", "avro_plain", "avro_wire", "proto_plain", "proto_wire");
  static final List<String> FEATURES =
      List.of("amount", "n", "big", "ok", "blob", "tags", "color", "score", "at", "amount_30d");

  static final String AVRO =
      """
      {"type": "record", "name": "Event", "namespace": "e", "fields": [
        {"name": "id", "type": "string"},
        {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-micros"}},
        {"name": "amount", "type": ["null", "double"], "default": null},
        {"name": "n", "type": ["null", "int"], "default": null},
        {"name": "big", "type": ["null", "long"], "default": null},
        {"name": "ok", "type": ["null", "boolean"], "default": null},
        {"name": "blob", "type": ["null", "bytes"], "default": null},
        {"name": "tags", "type": {"type": "array", "items": "string"}},
        {"name": "color", "type": {"type": "enum", "name": "Color", "symbols": ["RED", "GREEN"]}},
        {"name": "score", "type": ["null", "float"], "default": null}
      ]}
      """;

  /** An older writer: fields in another order, and one the reader dropped. */
  static final String AVRO_V1 =
      """
      {"type": "record", "name": "Event", "namespace": "e", "fields": [
        {"name": "legacy", "type": "string", "default": "-"},
        {"name": "score", "type": ["null", "float"], "default": null},
        {"name": "color", "type": {"type": "enum", "name": "Color", "symbols": ["RED", "GREEN"]}},
        {"name": "tags", "type": {"type": "array", "items": "string"}},
        {"name": "blob", "type": ["null", "bytes"], "default": null},
        {"name": "ok", "type": ["null", "boolean"], "default": null},
        {"name": "big", "type": ["null", "long"], "default": null},
        {"name": "n", "type": ["null", "int"], "default": null},
        {"name": "amount", "type": ["null", "double"], "default": null},
        {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-micros"}},
        {"name": "id", "type": "string"}
      ]}
      """;

  static TestProtos.Msg event() {
    return new TestProtos.Msg("Event")
        .field("id", 1, Type.TYPE_STRING)
        .typed("ts", 2, Type.TYPE_MESSAGE, ".google.protobuf.Timestamp")
        .optional("amount", 3, Type.TYPE_DOUBLE)
        .optional("n", 4, Type.TYPE_SINT32)
        .optional("big", 5, Type.TYPE_INT64)
        .optional("ok", 6, Type.TYPE_BOOL)
        .optional("blob", 7, Type.TYPE_BYTES)
        .repeated("tags", 8, Type.TYPE_STRING)
        .typed("color", 9, Type.TYPE_ENUM, ".e.Color")
        .optional("score", 10, Type.TYPE_FLOAT);
  }

  static String source(String name, String kafka) {
    return String.join(
        "\n",
        "  " + name + ":",
        "    kafka: " + kafka,
        "    event_timestamp: ts",
        "    schema: {id: string, ts: timestamp, amount: double, n: int32, big: int64, ok: bool,",
        "             blob: bytes, tags: list<string>, color: string, score: float}",
        "");
  }

  static String view(String source) {
    return String.join(
        "\n",
        "  " + source + "_v:",
        "    entities: [user]",
        "    source: " + source,
        "    features:",
        "      amount: {type: double, expr: amount}",
        "      n: {type: int32, expr: n}",
        "      big: {type: int64, expr: big}",
        "      ok: {type: bool, expr: ok}",
        "      blob: {type: bytes, expr: blob}",
        "      tags: {type: list<string>, expr: tags}",
        "      color: {type: string, expr: color}",
        "      score: {type: float, expr: score}",
        "      at: {type: timestamp, expr: ts}",
        "    aggregations:",
        "      amount_30d: {function: sum, input: amount, window: 30d}",
        "");
  }

  static String registry() {
    StringBuilder b = new StringBuilder("entities:\n  user: {join_keys: {id: string}}\nsources:\n");
    b.append(source("json_src", "{topic: json-src}"));
    b.append(
        source("avro_plain", "{topic: avro-plain, format: avro, schema_file: schemas/event.avsc}"));
    b.append(
        source(
            "avro_wire",
            "{topic: avro-wire, format: avro, schema_file: schemas/event.avsc, wire_format:"
                + " schema_registry, writer_schemas: {1: schemas/event-v1.avsc, 2:"
                + " schemas/event.avsc}}"));
    b.append(
        source(
            "proto_plain",
            "{topic: proto-plain, format: protobuf, schema_file: schemas/event.desc, message:"
                + " e.Event}"));
    b.append(
        source(
            "proto_wire",
            "{topic: proto-wire, format: protobuf, schema_file: schemas/event.desc, message:"
                + " e.Event, wire_format: schema_registry, writer_schemas: {1:"
                + " schemas/event-v1.desc, 2: schemas/event.desc}}"));
    b.append("feature_views:\n");
    SOURCES.forEach(s -> b.append(view(s)));
    return b.toString();
  }

  @Test
  void avroAndProtobufSourcesServeAndStoreWhatTheJsonSourceDoes() throws Exception {
    Path repo = dir.resolve("repo");
    Files.createDirectories(repo.resolve("schemas"));
    Files.writeString(repo.resolve("schemas/event.avsc"), AVRO);
    Files.writeString(repo.resolve("schemas/event-v1.avsc"), AVRO_V1);
    Files.write(
        repo.resolve("schemas/event.desc"),
        TestProtos.set("e/event.proto", "e", event()).toByteArray());
    // The older Protobuf writer: Event second in its file (message indexes [1]), with a field
    // the reader dropped.
    Files.write(
        repo.resolve("schemas/event-v1.desc"),
        TestProtos.set(
                "e/event.proto",
                "e",
                new TestProtos.Msg("Header").field("id", 1, Type.TYPE_INT64),
                event().field("legacy", 20, Type.TYPE_STRING))
            .toByteArray());
    RegistrySnapshot registry = TestCluster.apply(repo, "formats", registry(), false);

    Random random = new Random(5);
    Instant now = Instant.now();
    int users = 12;
    List<String> events = new ArrayList<>();
    for (int i = 0; i < 150; i++) {
      StringBuilder e = new StringBuilder("{\"id\":\"u" + random.nextInt(users) + "\"");
      // Microsecond times, some out of order.
      Instant ts =
          now.minusMillis(random.nextInt(86_400_000)).minusNanos(random.nextInt(1000) * 1000L);
      e.append(",\"ts\":\"").append(ts).append('"');
      if (random.nextInt(5) != 0) {
        e.append(",\"amount\":").append((random.nextInt(2_000_000) - 1_000_000) / 100.0);
      }
      if (random.nextInt(4) != 0) {
        e.append(",\"n\":").append(random.nextInt() / 7);
      }
      if (random.nextInt(4) != 0) {
        e.append(",\"big\":").append(random.nextLong());
      }
      if (random.nextBoolean()) {
        e.append(",\"ok\":").append(random.nextBoolean());
      }
      if (random.nextBoolean()) {
        byte[] raw = new byte[random.nextInt(6)];
        random.nextBytes(raw);
        e.append(",\"blob\":\"")
            .append(java.util.Base64.getEncoder().encodeToString(raw))
            .append('"');
      }
      e.append(",\"tags\":[");
      for (int t = random.nextInt(3); t > 0; t--) {
        e.append("\"t").append(random.nextInt(9)).append(t > 1 ? "\"," : "\"");
      }
      e.append("],\"color\":\"").append(random.nextBoolean() ? "RED" : "GREEN").append('"');
      if (random.nextInt(3) != 0) {
        e.append(",\"score\":").append(random.nextFloat() * 100);
      }
      events.add(e.append('}').toString());
    }

    try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"));
        KafkaProducer<byte[], byte[]> producer = TestCluster.producer(kafka);
        QuiverServer server = TestCluster.serve(repo, kafka);
        QuiverClient client = TestCluster.client(server)) {
      Map<String, Long> last = new java.util.HashMap<>();
      for (String name : SOURCES) {
        Source s =
            registry.getSourcesList().stream()
                .filter(x -> x.getName().equals(name))
                .findFirst()
                .orElseThrow();
        JsonRecordDecoder json = new JsonRecordDecoder(s);
        List<java.util.concurrent.Future<org.apache.kafka.clients.producer.RecordMetadata>> sent =
            new ArrayList<>();
        for (int i = 0; i < events.size(); i++) {
          byte[] line = events.get(i).getBytes(StandardCharsets.UTF_8);
          byte[] value;
          if (name.equals("json_src")) {
            value = line;
          } else {
            // The wire-format sources alternate between the older and the current writer.
            Integer id = name.endsWith("_wire") ? 1 + i % 2 : null;
            value = RecordEncoder.of(s, id).encode(json.decode(line));
          }
          sent.add(producer.send(new ProducerRecord<>(s.getKafka().getTopic(), 0, null, value)));
        }
        producer.flush();
        long offset = 0;
        for (var f : sent) {
          offset = f.get(30, TimeUnit.SECONDS).offset();
        }
        last.put(name, offset);
      }
      for (String name : SOURCES) {
        TestCluster.awaitApplied(server, name, last.get(name) + 1);
      }
      server.offlineStore().commitAll();

      List<Object> ids = new ArrayList<>();
      for (int u = 0; u < users + 1; u++) {
        ids.add("u" + u); // the last never had an event
      }
      List<String> refs = new ArrayList<>();
      for (String s : SOURCES) {
        FEATURES.forEach(f -> refs.add(s + "_v:" + f));
      }
      Instant t = Instant.now();
      OnlineResult online =
          client.getOnlineFeatures(
              OnlineRequest.forFeatures(refs).entity("id", ids).fullFeatureNames());

      Path table = dir.resolve("entities.csv");
      StringBuilder csv = new StringBuilder("id,event_timestamp\n");
      for (Object id : ids) {
        csv.append(id).append(',').append(t).append('\n');
      }
      Files.writeString(table, csv);
      Path out = dir.resolve("training.csv");
      TrainingSetExport.run(
          registry,
          repo.resolve("data/offline/formats"),
          new TrainingSetExport.Request(
              table, "event_timestamp", null, refs, out, 50, dir.resolve("spill")),
          n -> {});
      List<String[]> exported = new ArrayList<>();
      try (MappingIterator<String[]> it =
          new CsvMapper()
              .enable(CsvParser.Feature.WRAP_AS_ARRAY)
              .readerFor(String[].class)
              .readValues(out.toFile())) {
        it.next();
        it.forEachRemaining(exported::add);
      }
      assertThat(exported).hasSize(ids.size());

      int present = 0;
      for (int r = 0; r < ids.size(); r++) {
        for (int f = 0; f < FEATURES.size(); f++) {
          String feature = FEATURES.get(f);
          String jsonName = "json_src_v__" + feature;
          Object expected = online.get(jsonName, r);
          FeatureStatus expectedStatus = online.status(jsonName, r);
          String expectedOffline = exported.get(r)[2 + f];
          if (expectedStatus == FeatureStatus.PRESENT) {
            present++;
          }
          for (int s = 1; s < SOURCES.size(); s++) {
            String name = SOURCES.get(s) + "_v__" + feature;
            assertThat(online.status(name, r))
                .as("%s of %s", name, ids.get(r))
                .isEqualTo(expectedStatus);
            assertThat(online.get(name, r))
                .as("%s of %s online", name, ids.get(r))
                .isEqualTo(expected);
            assertThat(exported.get(r)[2 + s * FEATURES.size() + f])
                .as("%s of %s offline", name, ids.get(r))
                .isEqualTo(expectedOffline);
          }
        }
      }
      assertThat(present).as("most values are present").isGreaterThan(users * 5);
      // Values came through: the offline store holds them too, not only nulls.
      assertThat(exported.get(0)[2]).isNotEmpty();
    }
  }
}
