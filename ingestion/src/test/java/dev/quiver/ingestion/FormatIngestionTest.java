package dev.quiver.ingestion;

import static org.assertj.core.api.Assertions.assertThat;

import dev.quiver.kafka.EmbeddedKafka;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.proto.v1.SchemaContent;
import dev.quiver.proto.v1.Source;
import dev.quiver.registry.logic.FeatureLogic;
import dev.quiver.registry.rows.ViewRow;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Avro and Protobuf sources in the schema-registry wire format on a real broker: records of the
 * current and of an evolved writer schema are ingested; records of an incompatible writer, of an
 * unknown id, without the header or with a payload that is no record go to the dead-letter topic
 * with their reasons, original bytes and positions, and ingestion goes on after each.
 */
class FormatIngestionTest {
  @TempDir Path dir;

  static final String REGISTRY =
      String.join(
          "\n",
          "entities:",
          "  user: {join_keys: {id: string}}",
          "sources:",
          "  avro_events:",
          "    kafka:",
          "      topic: avro-events",
          "      format: avro",
          "      schema_file: schemas/event.avsc",
          "      wire_format: schema_registry",
          "      writer_schemas: {1: schemas/event-v1.avsc, 2: schemas/event.avsc}",
          "    event_timestamp: ts",
          "    schema: " + FormatFixtures.YAML_SCHEMA,
          "  proto_events:",
          "    kafka:",
          "      topic: proto-events",
          "      format: protobuf",
          "      schema_file: schemas/event.desc",
          "      message: test.v1.Event",
          "      wire_format: schema_registry",
          "      writer_schemas: {1: schemas/event-v1.desc, 2: schemas/event.desc}",
          "    event_timestamp: ts",
          "    schema: " + FormatFixtures.YAML_SCHEMA,
          "feature_views:",
          view("avro_view", "avro_events"),
          view("proto_view", "proto_events"));

  static String view(String name, String source) {
    return String.join(
        "\n",
        "  " + name + ":",
        "    entities: [user]",
        "    source: " + source,
        "    features:",
        "      amount: {type: double, expr: amount}",
        "      big: {type: int64, expr: big}",
        "      n: {type: int32, expr: n}",
        "");
  }

  @Test
  void evolvedWritersAreIngestedAndBadRecordsAreDeadLettersWithTheirReasons() throws Exception {
    Path repo = dir.resolve("repo");
    Files.createDirectories(repo.resolve("schemas"));
    Files.writeString(repo.resolve("schemas/event.avsc"), FormatFixtures.AVRO_READER);
    Files.writeString(repo.resolve("schemas/event-v1.avsc"), FormatFixtures.AVRO_WRITER_V1);
    Files.write(repo.resolve("schemas/event.desc"), FormatFixtures.protoReader().toByteArray());
    Files.write(
        repo.resolve("schemas/event-v1.desc"), FormatFixtures.protoWriterV1().toByteArray());
    RegistrySnapshot applied = IngestionHardeningTest.registry(repo, REGISTRY);
    // An Avro writer schema validation would refuse, as a registry written by other means could
    // hold: its records must still be dead letters, not misread.
    RegistrySnapshot.Builder b = applied.toBuilder();
    Source.Builder avro = b.getSourcesBuilderList().get(0);
    avro.getKafkaBuilder()
        .putWriterSchemas(
            9,
            SchemaContent.newBuilder()
                .setFile("schemas/event-bad.avsc")
                .setAvroSchema(FormatFixtures.AVRO_WRITER_INCOMPATIBLE)
                .build());
    RegistrySnapshot snapshot = b.build();
    Source avroSource = snapshot.getSources(0);
    Source protoSource = snapshot.getSources(1);

    try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"));
        KafkaProducer<byte[], byte[]> producer =
            new KafkaProducer<>(
                Map.of(
                    ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
                    kafka.bootstrapServers(),
                    ProducerConfig.ACKS_CONFIG,
                    "all"),
                new ByteArraySerializer(),
                new ByteArraySerializer())) {
      IngestionHardeningTest.MemorySink sink = new IngestionHardeningTest.MemorySink();
      IngestionConfig d = IngestionConfig.defaults(kafka.bootstrapServers(), "formats");
      IngestionConfig config =
          new IngestionConfig(
              d.bootstrapServers(),
              d.groupPrefix(),
              100,
              Duration.ofMillis(50),
              Duration.ofMillis(200),
              "",
              Map.of());
      try (Ingestion ingestion = new Ingestion(config, List.of(sink), new SimpleMeterRegistry())) {
        ingestion.apply(snapshot, FeatureLogic.compile(snapshot));

        RecordDecoder.Fields current = fields("now", 2.5, 7, 9007199254740993L);
        // Written with version 1 by Avro's own writer: no amount, big an int.
        org.apache.avro.Schema v1 =
            new org.apache.avro.Schema.Parser().parse(FormatFixtures.AVRO_WRITER_V1);
        org.apache.avro.generic.GenericRecord old =
            new org.apache.avro.generic.GenericRecordBuilder(v1)
                .set("legacy", "x")
                .set("id", "old")
                .set("ts", 1_767_225_600_000_000L)
                .set("n", 8)
                .set("big", 42)
                .set("tags", List.of("t"))
                .build();
        List<byte[]> avroValues =
            List.of(
                RecordEncoder.of(avroSource, 2).encode(current),
                FormatFixtures.concat(
                    WireFormat.header(1, null), AvroRecordDecoderTest.write(v1, old)),
                badAvro(),
                FormatFixtures.concat(WireFormat.header(5, null), new byte[] {2, 'x'}),
                "{\"id\":\"json\"}".getBytes(StandardCharsets.UTF_8),
                FormatFixtures.concat(WireFormat.header(2, null), new byte[] {(byte) 0xFF}),
                RecordEncoder.of(avroSource, 2).encode(fields("after", 1.0, 1, 1L)));
        com.google.protobuf.Descriptors.Descriptor v1Proto =
            dev.quiver.registry.formats.SourceSchemas.protobuf(
                FormatFixtures.protoWriterV1().toByteString(), "test.v1.Event");
        com.google.protobuf.DynamicMessage.Builder oldProto =
            ProtobufRecordDecoderTest.event(v1Proto, "old", 1_767_225_600L, 0);
        ProtobufRecordDecoderTest.set(oldProto, "n", 8);
        ProtobufRecordDecoderTest.set(oldProto, "big", 42);
        ProtobufRecordDecoderTest.set(oldProto, "legacy", "x");
        List<byte[]> protoValues =
            List.of(
                RecordEncoder.of(protoSource, 2).encode(current),
                FormatFixtures.concat(
                    WireFormat.header(1, List.of(1)), oldProto.build().toByteArray()),
                // Message index [0] of v1 is test.v1.Other, whose field 1 is no string.
                FormatFixtures.concat(WireFormat.header(1, List.of(0)), new byte[] {0x08, 0x01}),
                FormatFixtures.concat(WireFormat.header(5, List.of(0)), new byte[] {}),
                "{\"id\":\"json\"}".getBytes(StandardCharsets.UTF_8),
                FormatFixtures.concat(WireFormat.header(2, List.of(0)), new byte[] {0x0A, 0x09}),
                RecordEncoder.of(protoSource, 2).encode(fields("after", 1.0, 1, 1L)));
        List<Long> avroOffsets = send(producer, "avro-events", avroValues);
        List<Long> protoOffsets = send(producer, "proto-events", protoValues);

        IngestionHardeningTest.await(
            () ->
                sink.positionOf("avro_view", "avro-events") == avroOffsets.get(6) + 1
                    && sink.positionOf("proto_view", "proto-events") == protoOffsets.get(6) + 1,
            "both topics to be applied");

        for (String view : List.of("avro_view", "proto_view")) {
          List<ViewRow> rows = sink.rowsOf(view);
          assertThat(rows)
              .extracting(r -> r.entityKey().get(0))
              .containsExactly("now", "old", "after");
          assertThat(rows.get(0).features()).containsExactly(2.5, 9007199254740993L, 7);
          assertThat(rows.get(1).features()).containsExactly(null, 42L, 8);
          assertThat(rows.get(1).order().eventTimeMicros()).isEqualTo(1_767_225_600_000_000L);
        }

        List<ConsumerRecord<byte[], byte[]>> avroDead = readAll(kafka, "avro-events.dlq", 4);
        assertThat(avroDead)
            .extracting(r -> header(r, DeadLetters.REASON))
            .containsExactly(
                "incompatible_writer_schema",
                "unknown_schema_id",
                "missing_magic_byte",
                "undecodable_payload");
        assertThat(header(avroDead.get(0), DeadLetters.ERROR))
            .contains("writer schema 9 (schemas/event-bad.avsc)")
            .contains("type_mismatch at /fields/0/type");
        assertThat(avroDead)
            .extracting(r -> Long.parseLong(header(r, DeadLetters.OFFSET)))
            .containsExactly(
                avroOffsets.get(2), avroOffsets.get(3), avroOffsets.get(4), avroOffsets.get(5));
        assertThat(avroDead.get(1).value()).isEqualTo(avroValues.get(3));

        List<ConsumerRecord<byte[], byte[]>> protoDead = readAll(kafka, "proto-events.dlq", 4);
        assertThat(protoDead)
            .extracting(r -> header(r, DeadLetters.REASON))
            .containsExactly(
                "incompatible_writer_schema",
                "unknown_schema_id",
                "missing_magic_byte",
                "undecodable_payload");
        assertThat(header(protoDead.get(0), DeadLetters.ERROR))
            .contains("message test.v1.Other")
            .contains("field 1 (id) is int64 in the writer and string in the reader");
        assertThat(protoDead.get(3).value()).isEqualTo(protoValues.get(5));
      }
    }
  }

  static RecordDecoder.Fields fields(String id, Double amount, Integer n, Long big) {
    Map<String, Object> v = new java.util.HashMap<>();
    v.put("id", id);
    v.put("ts", java.time.Instant.parse("2026-01-01T00:00:00Z"));
    v.put("tags", List.of("t"));
    v.put("color", "GREEN");
    if (amount != null) {
      v.put("amount", amount);
    }
    if (n != null) {
      v.put("n", n);
    }
    if (big != null) {
      v.put("big", big);
    }
    return new RecordDecoder.Fields(v, java.util.Set.of());
  }

  static byte[] badAvro() throws Exception {
    org.apache.avro.Schema bad =
        new org.apache.avro.Schema.Parser().parse(FormatFixtures.AVRO_WRITER_INCOMPATIBLE);
    org.apache.avro.generic.GenericRecord r =
        new org.apache.avro.generic.GenericRecordBuilder(bad)
            .set("id", 7L)
            .set("ts", 1_767_225_600_000_000L)
            .build();
    return FormatFixtures.concat(WireFormat.header(9, null), AvroRecordDecoderTest.write(bad, r));
  }

  static List<Long> send(KafkaProducer<byte[], byte[]> producer, String topic, List<byte[]> values)
      throws Exception {
    List<java.util.concurrent.Future<org.apache.kafka.clients.producer.RecordMetadata>> sent =
        new ArrayList<>();
    for (byte[] v : values) {
      sent.add(producer.send(new ProducerRecord<>(topic, 0, null, v)));
    }
    producer.flush();
    List<Long> offsets = new ArrayList<>();
    for (var f : sent) {
      offsets.add(f.get(30, TimeUnit.SECONDS).offset());
    }
    return offsets;
  }

  static List<ConsumerRecord<byte[], byte[]>> readAll(
      EmbeddedKafka kafka, String topic, int count) {
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(
            Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()),
            new ByteArrayDeserializer(),
            new ByteArrayDeserializer())) {
      TopicPartition tp = new TopicPartition(topic, 0);
      consumer.assign(List.of(tp));
      consumer.seekToBeginning(List.of(tp));
      List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (out.size() < count && System.nanoTime() < deadline) {
        consumer.poll(Duration.ofMillis(200)).forEach(out::add);
      }
      return out;
    }
  }

  static String header(ConsumerRecord<byte[], byte[]> r, String key) {
    var h = r.headers().lastHeader(key);
    return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }
}
