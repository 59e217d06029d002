package dev.quiver.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.quiver.client.OnlineRequest;
import dev.quiver.client.OnlineResult;
import dev.quiver.client.QuiverClient;
import dev.quiver.ingestion.DeadLetters;
import dev.quiver.kafka.EmbeddedKafka;
import dev.quiver.proto.v1.FeatureStatus;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile Kafka records against a real server on a real broker, each between two good records:
 * every one is either served as sent or dead-lettered with the right reason, no offset is lost, and
 * the good records around them are served with their values.
 */
class HostileRecordsTest {
  static final String REGISTRY =
      String.join(
          "\n",
          "entities:",
          "  card: {join_keys: {card_id: string}}",
          "sources:",
          "  hostile:",
          "    kafka: {topic: hostile}",
          "    event_timestamp: ts",
          "    created_timestamp: created",
          "    schema: {card_id: string, amount: double, qty: int32, cents: int64, f: float,",
          "             ok: bool, raw: bytes, at: timestamp, ts: timestamp, created: int64,",
          "             tags: list<string>, vec: list<float>, note: string}",
          "feature_views:",
          "  card:",
          "    entities: [card]",
          "    source: hostile",
          "    features:",
          "      amount: {type: double, expr: amount}",
          "      note: {type: string, expr: note}",
          "      at: {type: timestamp, expr: at}",
          "      vec: {type: list<float>, expr: vec}",
          "  card_amount:",
          "    entities: [card]",
          "    source: hostile",
          "    features:",
          "      amount2: {type: double, expr: amount}",
          "      per_item: {type: int64, expr: cents / qty}",
          "feature_services:",
          "  svc: {features: [card:amount, card:note, card:at, card_amount:amount2]}",
          "");

  static final int TOPIC_BYTES = 8 << 20;

  @TempDir Path dir;

  /** One hostile record: what is sent, and either the reason it is dead-lettered or a check. */
  record Case(
      String name,
      byte[] key,
      byte[] value,
      RecordHeaders headers,
      String reason,
      String card,
      Consumer<Served> served) {}

  /** A served row of a card, for an accepted record's check. */
  record Served(OnlineResult result, int row) {}

  final List<Case> cases = new ArrayList<>();
  final String ts = "\"ts\":\"" + Instant.now().minusSeconds(60) + "\"";

  void bad(String name, String json, String reason) {
    bad(name, json == null ? null : utf8(json), reason);
  }

  void bad(String name, byte[] value, String reason) {
    cases.add(new Case(name, null, value, new RecordHeaders(), reason, null, null));
  }

  void good(String name, String card, String json, Consumer<Served> check) {
    cases.add(new Case(name, null, utf8(json), new RecordHeaders(), null, card, check));
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static byte[] bytes(String before, byte[] middle, String after) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(utf8(before));
    out.writeBytes(middle);
    out.writeBytes(utf8(after));
    return out.toByteArray();
  }

  String rec(String card, String rest) {
    return "{\"card_id\":\"" + card + "\"," + ts + (rest.isEmpty() ? "" : "," + rest) + "}";
  }

  String with(String rest) {
    return rec("bad", rest);
  }

  void hostileRecords() {
    // Not a JSON object at all.
    bad("tombstone", (String) null, "empty_record");
    bad("empty value", "", "not_json");
    bad("whitespace", "   \n ", "not_json");
    bad("plain text", "this is not json", "not_json");
    bad("binary", new byte[] {(byte) 0xFF, (byte) 0xFE, 0, 1, 2}, "not_json");
    bad("json array", "[1,2,3]", "not_an_object");
    bad("json string", "\"card\"", "not_an_object");
    bad("json number", "42", "not_an_object");
    bad("json true", "true", "not_an_object");
    bad("json null", "null", "not_an_object");
    bad("truncated", "{\"card_id\":\"x\",", "not_json");
    bad("trailing garbage", with("") + " x", "not_json");
    bad("two objects", with("") + with(""), "not_json");
    bad("NaN", with("\"amount\":NaN"), "not_json");
    bad("raw control character", with("\"note\":\"a\u0001b\""), "not_json");
    // Duplicates.
    bad(
        "duplicate join key",
        "{\"card_id\":\"a\",\"card_id\":\"b\"," + ts + "}",
        "duplicate_field");
    bad("duplicate unknown field", with("\"x\":1,\"x\":2"), "duplicate_field");
    bad("duplicate nested field", with("\"o\":{\"a\":1,\"a\":2}"), "duplicate_field");
    // Past the decoder's limits.
    bad(
        "nested 5000 deep",
        with("\"x\":" + "[".repeat(5000) + "]".repeat(5000)),
        "json_limit_exceeded");
    bad(
        "nested 101 deep",
        with("\"x\":" + "[".repeat(100) + "]".repeat(100)),
        "json_limit_exceeded");
    bad("5000-digit int64", with("\"cents\":" + "7".repeat(5000)), "json_limit_exceeded");
    bad("5000-digit unknown", with("\"x\":" + "7".repeat(5000)), "json_limit_exceeded");
    bad("5000-digit fraction", with("\"amount\":0." + "7".repeat(5000)), "json_limit_exceeded");
    bad("900-digit int64", with("\"cents\":" + "7".repeat(900)), "out_of_range");
    bad("900-digit double", with("\"amount\":1" + "0".repeat(900)), "out_of_range");
    bad("double 1e400", with("\"amount\":1e400"), "out_of_range");
    bad("int32 overflow", with("\"qty\":3000000000"), "out_of_range");
    bad("float overflow", with("\"f\":1e39"), "out_of_range");
    // Strings that are not valid Unicode.
    bad(
        "lone low surrogate key",
        "{\"card_id\":\"card_sur2\\udc00\"," + ts + "}",
        "invalid_string");
    bad("lone high surrogate", with("\"note\":\"a\\ud800\""), "invalid_string");
    bad("reversed pair", with("\"note\":\"\\udc00\\ud800\""), "invalid_string");
    bad("surrogate in list", with("\"tags\":[\"ok\",\"\\ud83d\"]"), "invalid_string");
    bad(
        "invalid UTF-8 note",
        bytes(with("\"note\":\"a").replace("}", ""), new byte[] {(byte) 0xC3, 0x28}, "\"}"),
        "invalid_string");
    bad(
        "invalid UTF-8 key",
        bytes("{\"card_id\":\"k", new byte[] {(byte) 0xE2, 0x28, (byte) 0xA1}, "\"," + ts + "}"),
        "invalid_string");
    bad(
        "overlong NUL",
        bytes(with("\"note\":\"a").replace("}", ""), new byte[] {(byte) 0xC0, (byte) 0x80}, "\"}"),
        "invalid_string");
    bad(
        "CESU surrogate",
        bytes(
            with("\"note\":\"a").replace("}", ""),
            new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80},
            "\"}"),
        "invalid_string");
    // Times outside the accepted range, of every kind.
    bad(
        "event int64 max ms",
        "{\"card_id\":\"t\",\"ts\":9223372036854775807}",
        "timestamp_out_of_range");
    bad(
        "event int64 min ms",
        "{\"card_id\":\"t\",\"ts\":-9223372036854775808}",
        "timestamp_out_of_range");
    bad(
        "event past int64",
        "{\"card_id\":\"t\",\"ts\":99999999999999999999}",
        "timestamp_out_of_range");
    bad(
        "event year 10000",
        "{\"card_id\":\"t\",\"ts\":\"+10000-01-01T00:00:00Z\"}",
        "timestamp_out_of_range");
    bad(
        "event year 2262",
        "{\"card_id\":\"t\",\"ts\":\"2262-01-01T00:00:00Z\"}",
        "timestamp_out_of_range");
    bad(
        "event year 1677",
        "{\"card_id\":\"t\",\"ts\":\"1677-12-31T23:59:59Z\"}",
        "timestamp_out_of_range");
    bad("created int64 max", with("\"created\":9223372036854775807"), "timestamp_out_of_range");
    bad("created int64 min", with("\"created\":-9223372036854775808"), "timestamp_out_of_range");
    bad(
        "timestamp field year 3000",
        with("\"at\":\"3000-01-01T00:00:00Z\""),
        "timestamp_out_of_range");
    bad("timestamp field int max", with("\"at\":9223372036854775807"), "timestamp_out_of_range");
    // Bad timestamps, missing keys and times.
    bad("second 61", "{\"card_id\":\"t\",\"ts\":\"2016-12-31T23:59:61Z\"}", "bad_timestamp");
    bad("timestamp text", "{\"card_id\":\"t\",\"ts\":\"yesterday\"}", "bad_timestamp");
    bad(
        "timestamp without zone",
        "{\"card_id\":\"t\",\"ts\":\"2026-01-01T00:00:00\"}",
        "bad_timestamp");
    bad("event time missing", "{\"card_id\":\"t\"}", "missing_event_timestamp");
    bad("event time null", "{\"card_id\":\"t\",\"ts\":null}", "missing_event_timestamp");
    bad("join key missing", "{" + ts + "}", "missing_join_key");
    bad("join key null", "{\"card_id\":null," + ts + "}", "null_join_key");
    // Wrong types for every declared type.
    bad("number for string key", "{\"card_id\":7," + ts + "}", "wrong_type");
    bad("string for double", with("\"amount\":\"ten\""), "wrong_type");
    bad("fraction for int32", with("\"qty\":1.5"), "wrong_type");
    bad("string for int32", with("\"qty\":\"1\""), "wrong_type");
    bad("bool for int64", with("\"cents\":true"), "wrong_type");
    bad("list for float", with("\"f\":[]"), "wrong_type");
    bad("string for bool", with("\"ok\":\"true\""), "wrong_type");
    bad("number for bytes", with("\"raw\":5"), "wrong_type");
    bad("bool for timestamp", with("\"at\":true"), "wrong_type");
    bad("object for event time", "{\"card_id\":\"t\",\"ts\":{}}", "wrong_type");
    bad("fraction for created", with("\"created\":1.5"), "wrong_type");
    bad("string for list", with("\"tags\":\"x\""), "wrong_type");
    bad("object for list", with("\"vec\":{\"a\":1}"), "wrong_type");
    bad("number for string", with("\"note\":5"), "wrong_type");
    bad("deep list for string", with("\"note\":" + "[".repeat(50) + "]".repeat(50)), "wrong_type");
    bad("bad base64", with("\"raw\":\"%%%\""), "bad_base64");
    bad("null list element", with("\"tags\":[\"a\",null]"), "bad_list_element");
    bad("wrong list element", with("\"vec\":[1,\"x\"]"), "bad_list_element");
    // One view fails on the record; the other keeps its row.
    cases.add(
        new Case(
            "division by zero",
            null,
            utf8(rec("h_div", "\"cents\":5,\"qty\":0,\"amount\":12.0")),
            new RecordHeaders(),
            "expression_failed",
            "h_div",
            s -> {
              assertThat(s.result().getDouble("amount", s.row())).isEqualTo(12.0);
              assertThat(s.result().status("amount2", s.row())).isEqualTo(FeatureStatus.NOT_FOUND);
            }));
    // Large: a 5 MB record that is not JSON is dead-lettered whole.
    byte[] fiveMb = new byte[5 << 20];
    java.util.Arrays.fill(fiveMb, (byte) 'z');
    bad("5 MB not JSON", fiveMb, "not_json");

    // Accepted, and served as sent.
    good(
        "surrogate pair",
        "h_pair",
        rec("h_pair", "\"note\":\"\\ud83d\\ude00\"," + "\"amount\":1.0"),
        s -> assertThat(s.result().getString("note", s.row())).isEqualTo("\ud83d\ude00"));
    good(
        "NUL in a string",
        "h_nul",
        rec("h_nul", "\"note\":\"a\\u0000b\",\"amount\":1.0"),
        s -> assertThat(s.result().getString("note", s.row())).isEqualTo("a\u0000b"));
    good(
        "NUL in the join key",
        "h\u0000nul",
        rec("h\\u0000nul", "\"amount\":7.5"),
        s -> assertThat(s.result().getDouble("amount", s.row())).isEqualTo(7.5));
    good(
        "tiny double",
        "h_tiny",
        rec("h_tiny", "\"amount\":1e-400"),
        s -> assertThat(s.result().getDouble("amount", s.row())).isEqualTo(0.0));
    good(
        "nested 50 deep unknown",
        "h_deep",
        rec("h_deep", "\"x\":" + "[".repeat(50) + "]".repeat(50) + ",\"amount\":2.0"),
        s -> assertThat(s.result().getDouble("amount", s.row())).isEqualTo(2.0));
    good(
        "leap second event",
        "h_leap",
        "{\"card_id\":\"h_leap\",\"ts\":\"2016-12-31T23:59:60Z\",\"amount\":3.0}",
        s ->
            assertThat(s.result().eventTime("amount", s.row()))
                .isEqualTo(Instant.parse("2016-12-31T23:59:59.999999Z")));
    good(
        "leap second field",
        "h_leapat",
        rec("h_leapat", "\"at\":\"2016-12-31T23:59:60.5Z\""),
        s ->
            assertThat(s.result().getTimestamp("at", s.row()))
                .isEqualTo(Instant.parse("2016-12-31T23:59:59.999999Z")));
    good(
        "edge of range",
        "h_edge",
        "{\"card_id\":\"h_edge\",\"ts\":\"1678-01-01T00:00:00Z\",\"amount\":4.0}",
        s ->
            assertThat(s.result().eventTime("amount", s.row()))
                .isEqualTo(Instant.parse("1678-01-01T00:00:00Z")));
    good(
        "3 MB unknown field",
        "h_bigunknown",
        rec("h_bigunknown", "\"amount\":5.0,\"blob\":\"" + "b".repeat(3 << 20) + "\""),
        s -> assertThat(s.result().getDouble("amount", s.row())).isEqualTo(5.0));
    good(
        "unknown fields of every kind",
        "h_unknown",
        rec(
            "h_unknown",
            "\"amount\":6.0,\"u1\":null,\"u2\":[1,{\"a\":[true]}],\"u3\":{\"b\":\"\\ud800\"},\"u4\":1e999"),
        s -> assertThat(s.result().getDouble("amount", s.row())).isEqualTo(6.0));
    // Too large for one view: that view's row is dead-lettered, the other view keeps its row.
    String bigNote = "n".repeat((1 << 20) + 1);
    cases.add(
        new Case(
            "value over 1 MiB",
            null,
            utf8(rec("h_bignote", "\"amount\":8.0,\"note\":\"" + bigNote + "\"")),
            new RecordHeaders(),
            "value_too_large",
            "h_bignote",
            s -> {
              assertThat(s.result().getDouble("amount2", s.row())).isEqualTo(8.0);
              assertThat(s.result().status("note", s.row())).isEqualTo(FeatureStatus.NOT_FOUND);
            }));
    StringBuilder vec = new StringBuilder("[");
    for (int i = 0; i < 300_000; i++) {
      vec.append(i == 0 ? "" : ",").append("0.5");
    }
    cases.add(
        new Case(
            "list over 1 MiB",
            null,
            utf8(rec("h_bigvec", "\"amount\":9.0,\"vec\":" + vec + "]")),
            new RecordHeaders(),
            "value_too_large",
            "h_bigvec",
            s -> assertThat(s.result().getDouble("amount2", s.row())).isEqualTo(9.0)));
    // Huge keys and headers on the Kafka record.
    byte[] bigKey = new byte[1 << 20];
    java.util.Arrays.fill(bigKey, (byte) 'k');
    cases.add(
        new Case(
            "1 MB Kafka key, good value",
            bigKey,
            utf8(rec("h_bigkey", "\"amount\":10.0")),
            new RecordHeaders(),
            null,
            "h_bigkey",
            s -> assertThat(s.result().getDouble("amount", s.row())).isEqualTo(10.0)));
    cases.add(
        new Case(
            "1 MB Kafka key, bad value",
            bigKey,
            utf8("nope"),
            new RecordHeaders(),
            "not_json",
            null,
            null));
    RecordHeaders bigHeaders = new RecordHeaders();
    bigHeaders.add("big", new byte[512 << 10]);
    for (int i = 0; i < 1000; i++) {
      bigHeaders.add("h" + i, utf8("v" + i));
    }
    cases.add(
        new Case(
            "huge headers, bad value", null, utf8("[]"), bigHeaders, "not_an_object", null, null));
    cases.add(
        new Case(
            "huge headers, good value",
            null,
            utf8(rec("h_bighead", "\"amount\":11.0")),
            bigHeaders,
            null,
            "h_bighead",
            s -> assertThat(s.result().getDouble("amount", s.row())).isEqualTo(11.0)));
  }

  static void createTopic(EmbeddedKafka kafka, String name) throws Exception {
    try (Admin admin =
        Admin.create(
            Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
      admin
          .createTopics(
              List.of(
                  new NewTopic(name, Optional.of(1), Optional.empty())
                      .configs(Map.of("max.message.bytes", String.valueOf(TOPIC_BYTES)))))
          .all()
          .get(30, TimeUnit.SECONDS);
    }
  }

  @Test
  void everyHostileRecordIsServedAsSentOrDeadLetteredWithItsReasonAndNoneIsLost() throws Exception {
    hostileRecords();
    assertThat(cases).hasSizeGreaterThanOrEqualTo(50);
    try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
      createTopic(kafka, "hostile");
      Path repo = dir.resolve("repo");
      TestCluster.apply(repo, "hostile", REGISTRY, false);
      try (QuiverServer server = TestCluster.serve(repo, kafka);
          QuiverClient client = TestCluster.client(server);
          KafkaProducer<byte[], byte[]> producer =
              new KafkaProducer<>(
                  Map.of(
                      ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
                      kafka.bootstrapServers(),
                      ProducerConfig.ACKS_CONFIG,
                      "all",
                      ProducerConfig.MAX_REQUEST_SIZE_CONFIG,
                      TOPIC_BYTES,
                      ProducerConfig.BUFFER_MEMORY_CONFIG,
                      64L << 20),
                  new ByteArraySerializer(),
                  new ByteArraySerializer())) {
        // good_i, hostile_i, good_i+1, ...: offsets 2i and 2i+1.
        List<Future<RecordMetadata>> sent = new ArrayList<>();
        for (int i = 0; i < cases.size(); i++) {
          Case c = cases.get(i);
          sent.add(
              producer.send(
                  new ProducerRecord<>(
                      "hostile",
                      0,
                      null,
                      utf8(rec("g" + i, "\"amount\":" + i + ".5,\"note\":\"g" + i + "\"")))));
          sent.add(
              producer.send(
                  new ProducerRecord<>("hostile", 0, null, c.key(), c.value(), c.headers())));
        }
        producer.flush();
        Map<Long, Case> byOffset = new HashMap<>();
        long last = 0;
        for (int i = 0; i < sent.size(); i++) {
          long offset = sent.get(i).get(30, TimeUnit.SECONDS).offset();
          assertThat(offset).isEqualTo(i);
          if (i % 2 == 1) {
            byOffset.put(offset, cases.get(i / 2));
          }
          last = offset;
        }
        TestCluster.awaitApplied(server, "hostile", last + 1);

        long expectedDead = cases.stream().filter(c -> c.reason() != null).count();
        List<ConsumerRecord<byte[], byte[]>> dead =
            TestCluster.readAll(kafka, "hostile.dlq", (int) expectedDead);
        Map<Long, ConsumerRecord<byte[], byte[]>> deadByOffset = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> d : dead) {
          long offset = Long.parseLong(TestCluster.header(d, DeadLetters.OFFSET));
          assertThat(deadByOffset.put(offset, d))
              .as("one dead letter for offset %d", offset)
              .isNull();
        }
        // None lost: every hostile offset is dead-lettered exactly when a reason is expected.
        Set<Long> expectedOffsets = new HashSet<>();
        byOffset.forEach(
            (o, c) -> {
              if (c.reason() != null) {
                expectedOffsets.add(o);
              }
            });
        assertThat(deadByOffset.keySet()).containsExactlyInAnyOrderElementsOf(expectedOffsets);
        for (var e : byOffset.entrySet()) {
          Case c = e.getValue();
          if (c.reason() == null) {
            continue;
          }
          ConsumerRecord<byte[], byte[]> d = deadByOffset.get(e.getKey());
          assertThat(TestCluster.header(d, DeadLetters.REASON)).as(c.name()).isEqualTo(c.reason());
          assertThat(TestCluster.header(d, DeadLetters.ERROR))
              .as(c.name())
              .isNotBlank()
              .hasSizeLessThan(2100);
          assertThat(TestCluster.header(d, DeadLetters.VALUE_TRUNCATED)).as(c.name()).isNull();
          assertThat(d.value()).as(c.name()).isEqualTo(c.value());
          if (c.key() != null) {
            assertThat(d.key()).as(c.name()).isEqualTo(c.key());
          }
          if (c.headers().toArray().length > 0) {
            assertThat(d.headers().lastHeader("big").value()).hasSize(512 << 10);
          }
        }

        // The good records around the hostile ones, and the accepted hostile ones, are served.
        List<String> cards = new ArrayList<>();
        for (int i = 0; i < cases.size(); i++) {
          cards.add("g" + i);
        }
        for (int from = 0; from < cards.size(); from += 50) {
          List<String> chunk = cards.subList(from, Math.min(cards.size(), from + 50));
          OnlineResult r =
              client.getOnlineFeatures(OnlineRequest.forService("svc").entity("card_id", chunk));
          for (int j = 0; j < chunk.size(); j++) {
            int i = from + j;
            assertThat(r.getDouble("amount", j)).as(chunk.get(j)).isEqualTo(i + 0.5);
            assertThat(r.getString("note", j)).as(chunk.get(j)).isEqualTo("g" + i);
            assertThat(r.getDouble("amount2", j)).as(chunk.get(j)).isEqualTo(i + 0.5);
          }
        }
        for (Case c : cases) {
          if (c.card() == null) {
            continue;
          }
          OnlineResult r =
              client.getOnlineFeatures(OnlineRequest.forService("svc").entity("card_id", c.card()));
          c.served().accept(new Served(r, 0));
        }
        // The bad records made no rows: not the mangled surrogate key, not the others.
        OnlineResult r =
            client.getOnlineFeatures(
                OnlineRequest.forService("svc")
                    .entity("card_id", "bad", "t", "card_sur2?", "card_sur2\ufffd"));
        for (int j = 0; j < 4; j++) {
          assertThat(r.status("amount", j)).isEqualTo(FeatureStatus.NOT_FOUND);
        }
      }
    }
  }
}
