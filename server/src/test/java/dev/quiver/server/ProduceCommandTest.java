package dev.quiver.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.quiver.kafka.EmbeddedKafka;
import dev.quiver.registry.formats.TestProtos;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code quiver produce} against a real broker: it asks which key to use when the source's views
 * have different join keys, sends every line or none (a line that is not UTF-8 is named and stops
 * it before anything is sent), and counts the empty lines it skips.
 */
class ProduceCommandTest {
  static final String REGISTRY =
      String.join(
          "\n",
          "entities:",
          "  card: {join_keys: {card_id: string}}",
          "  merchant: {join_keys: {merchant_id: string}}",
          "sources:",
          "  txns:",
          "    kafka: {topic: txns}",
          "    event_timestamp: ts",
          "    schema: {card_id: string, merchant_id: string, amount: double, ts: timestamp}",
          "feature_views:",
          "  by_card: {entities: [card], source: txns, features: {a: {type: double, expr: amount}}}",
          "  by_merchant:",
          "    entities: [merchant]",
          "    source: txns",
          "    features: {a: {type: double, expr: amount}}",
          "");

  @TempDir Path dir;

  @Test
  void sendsEveryLineOrNoneKeyedByTheChosenField() throws Exception {
    Path repo = dir.resolve("repo");
    TestCluster.apply(repo, "produce", REGISTRY, false);
    try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
      String b = kafka.bootstrapServers();
      Path good = dir.resolve("good.jsonl");
      Files.writeString(
          good,
          String.join(
              "\n", line("c1", "m1"), "", line("c2", "m2") + "\r", "   ", line("c3", "m1"), ""));

      DriftMonitorTest.Run ask =
          DriftMonitorTest.quiver(
              "produce",
              repo.toString(),
              "--source",
              "txns",
              "--file",
              good.toString(),
              "--bootstrap",
              b);
      assertThat(ask.code()).isEqualTo(1);
      assertThat(ask.err())
          .contains("card_id (by_card)")
          .contains("merchant_id (by_merchant)")
          .contains("--key");

      DriftMonitorTest.Run sent =
          DriftMonitorTest.quiver(
              "produce",
              repo.toString(),
              "--source",
              "txns",
              "--file",
              good.toString(),
              "--bootstrap",
              b,
              "--key",
              "merchant_id");
      assertThat(sent.code()).as(sent.err()).isZero();
      assertThat(sent.out()).contains("sent 3 records to txns").contains("(2 empty lines skipped)");
      List<ConsumerRecord<byte[], byte[]>> records = TestCluster.readAll(kafka, "txns", 3);
      assertThat(records).hasSize(3);
      assertThat(records.stream().map(r -> new String(r.key(), StandardCharsets.UTF_8)))
          .containsExactly("m1", "m2", "m1");
      assertThat(new String(records.get(1).value(), StandardCharsets.UTF_8))
          .isEqualTo(line("c2", "m2"));

      // Line 3 holds a byte that is not UTF-8: nothing of the file is sent.
      ByteArrayOutputStream bad = new ByteArrayOutputStream();
      bad.writeBytes(
          (line("c4", "m4") + "\n" + line("c5", "m5") + "\n").getBytes(StandardCharsets.UTF_8));
      bad.writeBytes(new byte[] {'{', '"', 'x', (byte) 0xFF, '"', '}', '\n'});
      bad.writeBytes((line("c6", "m6") + "\n").getBytes(StandardCharsets.UTF_8));
      Path badFile = dir.resolve("bad.jsonl");
      Files.write(badFile, bad.toByteArray());
      DriftMonitorTest.Run refused =
          DriftMonitorTest.quiver(
              "produce",
              repo.toString(),
              "--source",
              "txns",
              "--file",
              badFile.toString(),
              "--bootstrap",
              b,
              "--key",
              "card_id");
      assertThat(refused.code()).isEqualTo(1);
      assertThat(refused.err())
          .contains("line 3 is not UTF-8 text: byte 4 of the line is 0xFF")
          .contains("nothing was sent");
      assertThat(endOffset(kafka, "txns")).as("the refused file sent nothing").isEqualTo(3);
      DriftMonitorTest.Run unkeyed =
          DriftMonitorTest.quiver(
              "produce",
              repo.toString(),
              "--source",
              "txns",
              "--file",
              good.toString(),
              "--bootstrap",
              b,
              "--key",
              "");
      assertThat(unkeyed.code()).as(unkeyed.err()).isZero();
      List<ConsumerRecord<byte[], byte[]>> all = TestCluster.readAll(kafka, "txns", 6);
      assertThat(all).hasSize(6);
      assertThat(all.subList(3, 6)).allMatch(r -> r.key() == null);
      assertThat(endOffset(kafka, "txns")).isEqualTo(6);
    }
  }

  static final String AVRO =
      """
      {"type": "record", "name": "Txn", "namespace": "t", "fields": [
        {"name": "card_id", "type": "string"},
        {"name": "amount", "type": ["null", "double"], "default": null},
        {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}}
      ]}
      """;

  static final String AVRO_V1 =
      """
      {"type": "record", "name": "Txn", "namespace": "t", "fields": [
        {"name": "card_id", "type": "string"},
        {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}}
      ]}
      """;

  static String formats() {
    return String.join(
        "\n",
        "entities:",
        "  card: {join_keys: {card_id: string}}",
        "sources:",
        "  avro_txns:",
        "    kafka: {topic: avro-txns, format: avro, schema_file: schemas/txn.avsc,"
            + " wire_format: schema_registry,"
            + " writer_schemas: {1: schemas/txn-v1.avsc, 3: schemas/txn.avsc}}",
        "    event_timestamp: ts",
        "    schema: {card_id: string, amount: double, ts: timestamp}",
        "  proto_txns:",
        "    kafka: {topic: proto-txns, format: protobuf, schema_file: schemas/txn.desc,"
            + " message: t.Txn}",
        "    event_timestamp: ts",
        "    schema: {card_id: string, amount: double, ts: timestamp}",
        "feature_views:",
        "  a: {entities: [card], source: avro_txns, features: {x: {type: double, expr: amount}}}",
        "  p: {entities: [card], source: proto_txns, features: {x: {type: double, expr: amount}}}",
        "");
  }

  static com.google.protobuf.DescriptorProtos.FileDescriptorSet txnProto() {
    return TestProtos.set(
        "t/txn.proto",
        "t",
        new TestProtos.Msg("Txn")
            .field(
                "card_id",
                1,
                com.google.protobuf.DescriptorProtos.FieldDescriptorProto.Type.TYPE_STRING)
            .optional(
                "amount",
                2,
                com.google.protobuf.DescriptorProtos.FieldDescriptorProto.Type.TYPE_DOUBLE)
            .typed(
                "ts",
                3,
                com.google.protobuf.DescriptorProtos.FieldDescriptorProto.Type.TYPE_MESSAGE,
                ".google.protobuf.Timestamp"));
  }

  @Test
  void writesAvroAndProtobufSourcesInTheirFormatsAndWireFormat() throws Exception {
    Path repo = dir.resolve("formats");
    Files.createDirectories(repo.resolve("schemas"));
    Files.writeString(repo.resolve("schemas/txn.avsc"), AVRO);
    Files.writeString(repo.resolve("schemas/txn-v1.avsc"), AVRO_V1);
    Files.write(repo.resolve("schemas/txn.desc"), txnProto().toByteArray());
    var registry = TestCluster.apply(repo, "produce", formats(), false);
    var avroSource = registry.getSources(0);
    var protoSource = registry.getSources(1);
    Path lines = dir.resolve("txns.jsonl");
    Files.writeString(
        lines,
        "{\"card_id\":\"c1\",\"amount\":1.5,\"ts\":\"2026-01-01T00:00:00.123Z\"}\n\n"
            + "{\"card_id\":\"c2\",\"amount\":null,\"ts\":1767225600000}\n");
    try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
      String b = kafka.bootstrapServers();
      DriftMonitorTest.Run avro =
          DriftMonitorTest.quiver(
              "produce",
              repo.toString(),
              "--source",
              "avro_txns",
              "--file",
              lines.toString(),
              "--bootstrap",
              b);
      assertThat(avro.code()).as(avro.err()).isZero();
      assertThat(avro.out())
          .contains("sent 2 records to avro-txns")
          .contains("as avro with writer schema 3")
          .contains("(1 empty line skipped)");
      DriftMonitorTest.Run older =
          DriftMonitorTest.quiver(
              "produce",
              repo.toString(),
              "--source",
              "avro_txns",
              "--file",
              lines.toString(),
              "--bootstrap",
              b,
              "--schema-id",
              "1");
      assertThat(older.code()).as(older.err()).isZero();
      DriftMonitorTest.Run proto =
          DriftMonitorTest.quiver(
              "produce",
              repo.toString(),
              "--source",
              "proto_txns",
              "--file",
              lines.toString(),
              "--bootstrap",
              b);
      assertThat(proto.code()).as(proto.err()).isZero();
      assertThat(proto.out()).contains("sent 2 records to proto-txns").contains("as protobuf");

      var avroRecords = TestCluster.readAll(kafka, "avro-txns", 4);
      assertThat(avroRecords).hasSize(4);
      // The schema-registry header: magic byte, then the id.
      assertThat(java.util.Arrays.copyOf(avroRecords.get(0).value(), 5))
          .containsExactly(0, 0, 0, 0, 3);
      assertThat(java.util.Arrays.copyOf(avroRecords.get(2).value(), 5))
          .containsExactly(0, 0, 0, 0, 1);
      assertThat(new String(avroRecords.get(0).key(), StandardCharsets.UTF_8)).isEqualTo("c1");
      var avroRead = dev.quiver.ingestion.SourceRecords.of(avroSource, java.util.Set.of("card_id"));
      assertThat(avroRead.read(avroRecords.get(0).value()).fields())
          .containsEntry("card_id", "c1")
          .containsEntry("amount", 1.5);
      assertThat(avroRead.read(avroRecords.get(0).value()).eventTimeMicros())
          .isEqualTo(1_767_225_600_123_000L);
      assertThat(avroRead.read(avroRecords.get(1).value()).fields()).doesNotContainKey("amount");
      // Version 1 has no amount: written without it, read back as null.
      assertThat(avroRead.read(avroRecords.get(2).value()).fields())
          .containsEntry("card_id", "c1")
          .doesNotContainKey("amount");

      var protoRecords = TestCluster.readAll(kafka, "proto-txns", 2);
      var protoRead =
          dev.quiver.ingestion.SourceRecords.of(protoSource, java.util.Set.of("card_id"));
      assertThat(protoRead.read(protoRecords.get(0).value()).fields())
          .containsEntry("card_id", "c1")
          .containsEntry("amount", 1.5);
      assertThat(protoRecords.get(0).value()[0]).as("plain: no header").isEqualTo((byte) 0x0A);

      // A line that cannot be written in the format: named, nothing sent.
      Path bad = dir.resolve("bad.jsonl");
      Files.writeString(
          bad, "{\"card_id\":\"c3\",\"ts\":1}\n{\"card_id\":\"c4\",\"amount\":\"x\",\"ts\":1}\n");
      DriftMonitorTest.Run refused =
          DriftMonitorTest.quiver(
              "produce",
              repo.toString(),
              "--source",
              "proto_txns",
              "--file",
              bad.toString(),
              "--bootstrap",
              b);
      assertThat(refused.code()).isEqualTo(1);
      assertThat(refused.err())
          .contains("line 2 cannot be written as protobuf (wrong_type)")
          .contains("'amount' is a string; expected double")
          .contains("nothing was sent");
      assertThat(endOffset(kafka, "proto-txns")).isEqualTo(2);
      DriftMonitorTest.Run unknownId =
          DriftMonitorTest.quiver(
              "produce",
              repo.toString(),
              "--source",
              "avro_txns",
              "--file",
              lines.toString(),
              "--bootstrap",
              b,
              "--schema-id",
              "2");
      assertThat(unknownId.code()).isEqualTo(1);
      assertThat(unknownId.err()).contains("schema id 2 is not one of its writer_schemas [1, 3]");
    }
  }

  private static long endOffset(EmbeddedKafka kafka, String topic) {
    try (var consumer =
        new org.apache.kafka.clients.consumer.KafkaConsumer<byte[], byte[]>(
            java.util.Map.of(
                org.apache.kafka.clients.consumer.ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
                kafka.bootstrapServers()),
            new org.apache.kafka.common.serialization.ByteArrayDeserializer(),
            new org.apache.kafka.common.serialization.ByteArrayDeserializer())) {
      var tp = new org.apache.kafka.common.TopicPartition(topic, 0);
      return consumer.endOffsets(List.of(tp)).get(tp);
    }
  }

  private static String line(String card, String merchant) {
    return "{\"card_id\":\""
        + card
        + "\",\"merchant_id\":\""
        + merchant
        + "\",\"amount\":1.0,\"ts\":\"2026-01-01T00:00:00Z\"}";
  }
}
