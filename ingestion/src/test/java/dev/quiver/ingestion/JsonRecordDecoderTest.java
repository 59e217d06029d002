package dev.quiver.ingestion;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import dev.quiver.proto.v1.Field;
import dev.quiver.proto.v1.KafkaSource;
import dev.quiver.proto.v1.Source;
import dev.quiver.registry.Types;
import dev.quiver.registry.rows.OrderKey;
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
  static final JsonRecordDecoder DECODER = new JsonRecordDecoder(SOURCE, Set.of("id"));

  static Field field(String name, String type) {
    return Field.newBuilder().setName(name).setType(Types.parse(type).orElseThrow()).build();
  }

  static DecodedRecord decode(String json) throws BadRecordException {
    return DECODER.decode(json == null ? null : json.getBytes(StandardCharsets.UTF_8));
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
    assertThat(r.eventTimeMillis())
        .isEqualTo(Instant.parse("2026-03-01T09:00:00.250Z").toEpochMilli());
    assertThat(r.createdTimeMillis()).isEqualTo(1700000000000L);
  }

  @Test
  void nullAndAbsentOptionalFieldsAreLeftOut() throws Exception {
    DecodedRecord r = decode("{\"id\":\"a\",\"ts\":1700000000000,\"d\":null}");
    assertThat(r.fields()).containsOnlyKeys("id", "ts");
    assertThat(r.eventTimeMillis()).isEqualTo(1700000000000L);
    assertThat(r.createdTimeMillis()).isEqualTo(OrderKey.NO_CREATED_TIME);
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
        "timestamp out of range      | {\"id\":\"a\",\"ts\":99999999999999999999}       | BAD_TIMESTAMP           | out of range",
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

  @Test
  void invalidUtf8IsNotJson() {
    assertThatThrownBy(
            () ->
                DECODER.decode(
                    new byte[] {'{', '"', 'i', 'd', '"', ':', '"', (byte) 0xC3, '"', '}'}))
        .isInstanceOfSatisfying(
            BadRecordException.class,
            e -> assertThat(e.reason()).isEqualTo(DeadLetterReason.NOT_JSON));
  }
}
