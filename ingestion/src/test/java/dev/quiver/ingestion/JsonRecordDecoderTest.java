package dev.quiver.ingestion;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import dev.quiver.proto.v1.Field;
import dev.quiver.proto.v1.KafkaSource;
import dev.quiver.proto.v1.Source;
import dev.quiver.registry.Types;
import dev.quiver.registry.semantics.OrderKey;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class JsonRecordDecoderTest {
  static final Source SOURCE =
      Source.newBuilder()
          .setName("events")
          .setKafka(KafkaSource.newBuilder().setTopic("events"))
          .setEventTimestampField("ts")
          .setCreatedTimestampField("created")
          .addAllSchema(
              List.of(
                  field("id", "string"),
                  field("n", "int32"),
                  field("big", "int64"),
                  field("f", "float"),
                  field("d", "double"),
                  field("b", "bool"),
                  field("raw", "bytes"),
                  field("ts", "timestamp"),
                  field("created", "int64"),
                  field("tags", "list<string>"),
                  field("vec", "list<float>")))
          .build();
  static final SourceRecords DECODER = SourceRecords.of(SOURCE, Set.of("id"));

  static Field field(String name, String type) {
    return Field.newBuilder().setName(name).setType(Types.parse(type).orElseThrow()).build();
  }

  static DecodedRecord decode(String json) throws BadRecordException {
    return DECODER.read(json == null ? null : json.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void decodesEveryDeclaredTypeAndIgnoresUnknownFields() throws Exception {
    DecodedRecord r =
        decode(
            "{\"id\":\"a\",\"n\":-7,\"big\":9007199254740993,\"f\":1.5,\"d\":2,\"b\":false,"
                + "\"raw\":\"AQID\",\"ts\":\"2026-03-01T10:00:00.250+01:00\",\"created\":1700000000000,"
                + "\"tags\":[\"x\",\"y\"],\"vec\":[0.5,1],\"extra\":{\"nested\":[1,2]}}");
    assertThat(r.fields())
        .containsEntry("id", "a")
        .containsEntry("n", -7)
        .containsEntry("big", 9007199254740993L)
        .containsEntry("f", 1.5f)
        .containsEntry("d", 2.0)
        .containsEntry("b", false)
        .containsEntry("raw", ByteString.copyFrom(new byte[] {1, 2, 3}))
        .containsEntry("tags", List.of("x", "y"))
        .containsEntry("vec", List.of(0.5f, 1.0f))
        .doesNotContainKey("extra");
    assertThat(r.eventTimeMicros()).isEqualTo(micros("2026-03-01T09:00:00.250Z"));
    assertThat(r.createdTimeMicros()).isEqualTo(1700000000000_000L);
  }

  @Test
  void theJsonEncoderWritesWhatTheDecoderReadsBack() throws Exception {
    String json =
        "{\"id\":\"a\",\"n\":-7,\"big\":9007199254740993,\"f\":1.5,\"d\":null,\"b\":false,"
            + "\"raw\":\"AQID\",\"ts\":\"2026-03-01T10:00:00.123456Z\",\"tags\":[\"x\"],"
            + "\"vec\":[0.5,1]}";
    RecordDecoder.Fields fields =
        new JsonRecordDecoder(SOURCE).decode(json.getBytes(StandardCharsets.UTF_8));
    byte[] written = RecordEncoder.of(SOURCE, null).encode(fields);
    RecordDecoder.Fields back = new JsonRecordDecoder(SOURCE).decode(written);
    assertThat(back.values()).isEqualTo(fields.values());
    assertThat(back.nulls()).containsExactly("d");
    assertThat(new String(written, StandardCharsets.UTF_8)).contains("\"d\":null");
  }

  @Test
  void nullAndAbsentOptionalFieldsAreLeftOut() throws Exception {
    DecodedRecord r = decode("{\"id\":\"a\",\"ts\":1700000000000,\"d\":null}");
    assertThat(r.fields()).containsOnlyKeys("id", "ts");
    assertThat(r.eventTimeMicros()).isEqualTo(1700000000000_000L);
    assertThat(r.createdTimeMicros()).isEqualTo(OrderKey.NO_CREATED_TIME);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      value = {
        "empty value                 | <null>                                          | EMPTY_RECORD            | record has no value",
        "not json                    | hello                                           | NOT_JSON                | not valid JSON",
        "truncated json              | {\"id\":\"a\",                                  | NOT_JSON                | not valid JSON",
        "trailing garbage            | {\"id\":\"a\",\"ts\":1} x                       | NOT_JSON                | token 'x': was expecting",
        "array                       | [1,2]                                           | NOT_AN_OBJECT           | expected a JSON object, found a list",
        "number                      | 42                                              | NOT_AN_OBJECT           | found a number",
        "duplicate field             | {\"id\":\"a\",\"id\":\"b\",\"ts\":1}            | DUPLICATE_FIELD         | Duplicate field 'id'",
        "missing join key            | {\"ts\":1}                                      | MISSING_JOIN_KEY        | join key 'id' is missing",
        "null join key               | {\"id\":null,\"ts\":1}                          | NULL_JOIN_KEY           | join key 'id' is null",
        "missing event timestamp     | {\"id\":\"a\"}                                  | MISSING_EVENT_TIMESTAMP | event timestamp 'ts' is missing or null",
        "bad timestamp text          | {\"id\":\"a\",\"ts\":\"yesterday\"}             | BAD_TIMESTAMP           | 'ts' is 'yesterday'; expected an RFC 3339 timestamp",
        "timestamp without zone      | {\"id\":\"a\",\"ts\":\"2026-01-01T00:00:00\"}    | BAD_TIMESTAMP           | expected an RFC 3339 timestamp",
        "timestamp out of range      | {\"id\":\"a\",\"ts\":99999999999999999999}       | TIMESTAMP_OUT_OF_RANGE  | outside the accepted times",
        "string for double           | {\"id\":\"a\",\"ts\":1,\"d\":\"1.5\"}           | WRONG_TYPE              | 'd' is a string; expected double",
        "number for string key       | {\"id\":7,\"ts\":1}                             | WRONG_TYPE              | 'id' is a number; expected string",
        "object for bool             | {\"id\":\"a\",\"ts\":1,\"b\":{}}                | WRONG_TYPE              | 'b' is an object; expected bool",
        "fraction for int32          | {\"id\":\"a\",\"ts\":1,\"n\":1.5}               | WRONG_TYPE              | 'n' is 1.5; expected an integer (int32)",
        "int32 overflow              | {\"id\":\"a\",\"ts\":1,\"n\":2147483648}        | OUT_OF_RANGE            | 'n' is 2147483648, out of range for int32",
        "int64 overflow              | {\"id\":\"a\",\"ts\":1,\"big\":9223372036854775808} | OUT_OF_RANGE        | out of range for int64",
        "float overflow              | {\"id\":\"a\",\"ts\":1,\"f\":1e39}              | OUT_OF_RANGE            | out of range for float",
        "bad base64                  | {\"id\":\"a\",\"ts\":1,\"raw\":\"***\"}         | BAD_BASE64              | 'raw' is not valid base64",
        "null list element           | {\"id\":\"a\",\"ts\":1,\"tags\":[\"x\",null]}   | BAD_LIST_ELEMENT        | 'tags[1]' is null",
        "wrong list element          | {\"id\":\"a\",\"ts\":1,\"vec\":[1,\"x\"]}       | BAD_LIST_ELEMENT        | 'vec[1]' is a string; expected float",
        "scalar for list             | {\"id\":\"a\",\"ts\":1,\"tags\":\"x\"}          | WRONG_TYPE              | 'tags' is a string; expected list<string>",
      })
  void badRecordsAreRejectedWithAReason(
      String name, String json, DeadLetterReason reason, String message) {
    String value = json.equals("<null>") ? null : json;
    assertThatThrownBy(() -> decode(value))
        .as(name)
        .isInstanceOfSatisfying(
            BadRecordException.class,
            e -> {
              assertThat(e.reason()).isEqualTo(reason);
              assertThat(e.getMessage()).contains(message);
            });
  }

  static void assertRejected(byte[] value, DeadLetterReason reason, String message) {
    assertThatThrownBy(() -> DECODER.read(value))
        .isInstanceOfSatisfying(
            BadRecordException.class,
            e -> {
              assertThat(e.reason()).isEqualTo(reason);
              assertThat(e.getMessage()).contains(message);
            });
  }

  static void assertRejected(String json, DeadLetterReason reason, String message) {
    assertRejected(json.getBytes(StandardCharsets.UTF_8), reason, message);
  }

  static byte[] withBytes(String before, byte[] bad, String after) {
    byte[] a = before.getBytes(StandardCharsets.UTF_8);
    byte[] c = after.getBytes(StandardCharsets.UTF_8);
    byte[] out = new byte[a.length + bad.length + c.length];
    System.arraycopy(a, 0, out, 0, a.length);
    System.arraycopy(bad, 0, out, a.length, bad.length);
    System.arraycopy(c, 0, out, a.length + bad.length, c.length);
    return out;
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      value = {
        "truncated sequence   | C3",
        "bad continuation     | E2 28 A1",
        "overlong NUL         | C0 80",
        "encoded surrogate    | ED A0 80",
        "past U+10FFFF        | F4 90 80 80",
        "never valid          | FF",
      })
  void invalidUtf8InAnObjectIsAnInvalidString(String name, String hex) {
    String[] parts = hex.trim().split(" ");
    byte[] bad = new byte[parts.length];
    for (int i = 0; i < parts.length; i++) {
      bad[i] = (byte) Integer.parseInt(parts[i], 16);
    }
    assertRejected(
        withBytes("{\"id\":\"a", bad, "\",\"ts\":1700000000000}"),
        DeadLetterReason.INVALID_STRING,
        "invalid UTF-8 at byte 8");
    // Even in a field no view reads: the record is not text.
    assertRejected(
        withBytes("{\"id\":\"a\",\"other\":\"", bad, "\",\"ts\":1700000000000}"),
        DeadLetterReason.INVALID_STRING,
        "invalid UTF-8");
  }

  @Test
  void bytesThatAreNotTextAtAllAreNotJson() {
    assertRejected(new byte[] {0, (byte) 0xFF, 3, 4}, DeadLetterReason.NOT_JSON, "invalid UTF-8");
  }

  @Test
  void loneSurrogatesAreInvalidStringsJoinKeysIncluded() {
    assertRejected(
        "{\"id\":\"card_sur2\\udc00\",\"ts\":1700000000000}",
        DeadLetterReason.INVALID_STRING,
        "'id' holds a lone UTF-16 surrogate \\udc00 at character 9");
    assertRejected(
        "{\"id\":\"a\\ud800b\",\"ts\":1700000000000}", DeadLetterReason.INVALID_STRING, "\\ud800");
    assertRejected(
        "{\"id\":\"a\",\"ts\":1700000000000,\"tags\":[\"ok\",\"\\ud83d\"]}",
        DeadLetterReason.INVALID_STRING,
        "'tags[1]'");
  }

  @Test
  void surrogatePairsAndNulCharactersAreKept() throws Exception {
    DecodedRecord r =
        decode("{\"id\":\"\\ud83d\\ude00 \\u0000x\",\"ts\":1700000000000,\"tags\":[\"\u00e9\"]}");
    assertThat(r.fields()).containsEntry("id", "\ud83d\ude00 \u0000x");
    assertThat(r.fields()).containsEntry("tags", List.of("\u00e9"));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      value = {
        "event int64 max millis   | \"ts\":9223372036854775807",
        "event int64 min millis   | \"ts\":-9223372036854775808",
        "event past 2262          | \"ts\":9214646400000",
        "event before 1678        | \"ts\":-9214646400001",
        "event year 10000         | \"ts\":\"+10000-01-01T00:00:00Z\"",
        "event year 2262          | \"ts\":\"2262-01-01T00:00:00Z\"",
        "event year 1600          | \"ts\":\"1600-06-01T00:00:00Z\"",
        "created int64 max        | \"ts\":1700000000000,\"created\":9223372036854775807",
        "created int64 min        | \"ts\":1700000000000,\"created\":-9223372036854775808",
        "timestamp list element   | \"ts\":1700000000000,\"when\":[\"3000-01-01T00:00:00Z\"]",
      })
  void timesOutsideTheAcceptedRangeAreRefused(String name, String fields) {
    Source withList = SOURCE.toBuilder().addSchema(field("when", "list<timestamp>")).build();
    SourceRecords decoder = SourceRecords.of(withList, Set.of("id"));
    assertThatThrownBy(
            () -> decoder.read(("{\"id\":\"a\"," + fields + "}").getBytes(StandardCharsets.UTF_8)))
        .as(name)
        .isInstanceOfSatisfying(
            BadRecordException.class,
            e -> {
              assertThat(e.reason()).isEqualTo(DeadLetterReason.TIMESTAMP_OUT_OF_RANGE);
              assertThat(e.getMessage()).contains("outside the accepted times from 1678");
            });
  }

  @Test
  void theEdgesOfTheAcceptedRangeAreAccepted() throws Exception {
    assertThat(decode("{\"id\":\"a\",\"ts\":\"1678-01-01T00:00:00Z\"}").eventTimeMicros())
        .isEqualTo(micros("1678-01-01T00:00:00Z"));
    assertThat(decode("{\"id\":\"a\",\"ts\":\"2261-12-31T23:59:59.999Z\"}").eventTimeMicros())
        .isEqualTo(micros("2261-12-31T23:59:59.999Z"));
    assertThat(decode("{\"id\":\"a\",\"ts\":9214646399999}").eventTimeMicros())
        .isEqualTo(9214646399999_000L);
  }

  @Test
  void aLeapSecondIsTheLastMicrosecondOfTheSecondBefore() throws Exception {
    assertThat(decode("{\"id\":\"a\",\"ts\":\"2016-12-31T23:59:60Z\"}").eventTimeMicros())
        .isEqualTo(micros("2016-12-31T23:59:59.999999Z"));
    assertThat(decode("{\"id\":\"a\",\"ts\":\"2016-12-31T23:59:60.5Z\"}").eventTimeMicros())
        .isEqualTo(micros("2016-12-31T23:59:59.999999Z"));
    assertThat(decode("{\"id\":\"a\",\"ts\":\"2017-01-01T00:59:60+01:00\"}").eventTimeMicros())
        .isEqualTo(micros("2016-12-31T23:59:59.999999Z"));
    Source withTime = SOURCE.toBuilder().addSchema(field("at", "timestamp")).build();
    DecodedRecord r =
        SourceRecords.of(withTime, Set.of("id"))
            .read(
                "{\"id\":\"a\",\"ts\":1,\"at\":\"2016-12-31T23:59:60Z\"}"
                    .getBytes(StandardCharsets.UTF_8));
    assertThat(r.fields()).containsEntry("at", Instant.parse("2016-12-31T23:59:59.999999Z"));
    assertRejected(
        "{\"id\":\"a\",\"ts\":\"2016-12-31T23:59:61Z\"}",
        DeadLetterReason.BAD_TIMESTAMP,
        "expected an RFC 3339 timestamp");
    // The rule entity tables follow too: second 60 only where a leap second can be.
    assertRejected(
        "{\"id\":\"a\",\"ts\":\"2016-12-31T12:00:60Z\"}",
        DeadLetterReason.BAD_TIMESTAMP,
        "only a leap second at 23:59:60 UTC has");
  }

  @Test
  void jsonPastTheDecodersLimitsIsRefusedNamingTheLimit() {
    String deep = "[".repeat(5000) + "]".repeat(5000);
    assertRejected(
        "{\"id\":\"a\",\"ts\":1,\"x\":" + deep + "}",
        DeadLetterReason.JSON_LIMIT_EXCEEDED,
        "nesting depth");
    assertRejected(
        "{\"id\":\"a\",\"ts\":1,\"big\":" + "9".repeat(5000) + "}",
        DeadLetterReason.JSON_LIMIT_EXCEEDED,
        "Number value length");
    assertRejected(
        "{\"id\":\"a\",\"ts\":1,\"d\":1." + "5".repeat(5000) + "}",
        DeadLetterReason.JSON_LIMIT_EXCEEDED,
        "Number value length");
  }

  @Test
  void longButAcceptedNumbersGetBoundedMessages() {
    String digits = "9".repeat(900);
    assertThatThrownBy(() -> decode("{\"id\":\"a\",\"ts\":1,\"big\":" + digits + "}"))
        .isInstanceOfSatisfying(
            BadRecordException.class,
            e -> {
              assertThat(e.reason()).isEqualTo(DeadLetterReason.OUT_OF_RANGE);
              assertThat(e.getMessage()).contains("(900 characters)").hasSizeLessThan(300);
            });
  }

  @Test
  void aRecordOfSeveralMegabytesDecodes() throws Exception {
    String big = "x".repeat(5_000_000);
    DecodedRecord r = decode("{\"id\":\"" + big + "\",\"ts\":1700000000000}");
    assertThat((String) r.fields().get("id")).hasSize(5_000_000);
  }

  private static long micros(String rfc3339) {
    return dev.quiver.registry.semantics.Micros.of(Instant.parse(rfc3339));
  }

  @Test
  void timesKeepMicrosecondsAndDropWhatIsFiner() throws Exception {
    assertThat(decode("{\"id\":\"a\",\"ts\":\"2026-03-01T09:00:00.000000500Z\"}").eventTimeMicros())
        .isEqualTo(micros("2026-03-01T09:00:00Z"));
    assertThat(decode("{\"id\":\"a\",\"ts\":\"2026-03-01T09:00:00.123456789Z\"}").eventTimeMicros())
        .isEqualTo(micros("2026-03-01T09:00:00.123456Z"));
    // Before the epoch too, truncation goes towards the past, as for every other path.
    assertThat(decode("{\"id\":\"a\",\"ts\":\"1969-12-31T23:59:59.9999999Z\"}").eventTimeMicros())
        .isEqualTo(-1L);
  }
}
