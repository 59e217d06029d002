package dev.quiver.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.quiver.kafka.EmbeddedKafka;
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
