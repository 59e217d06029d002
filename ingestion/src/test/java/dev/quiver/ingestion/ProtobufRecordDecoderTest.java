package dev.quiver.ingestion;

import static dev.quiver.ingestion.FormatFixtures.concat;
import static dev.quiver.ingestion.FormatFixtures.proto;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.Timestamp;
import dev.quiver.proto.v1.Source;
import dev.quiver.registry.formats.SourceSchemas;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Protobuf records, built here as DynamicMessages of the fixtures' descriptors: every declared
 * type, presence, evolution through the schema-registry wire format (message indexes included), and
 * each way a record can be bad.
 */
class ProtobufRecordDecoderTest {
  static final Source PLAIN =
      FormatFixtures.source("protobuf", proto("event.desc", FormatFixtures.protoReader()), null);
  static final Source REGISTRY =
      FormatFixtures.source(
          "protobuf",
          proto("event.desc", FormatFixtures.protoReader()),
          Map.of(
              1, proto("v1.desc", FormatFixtures.protoWriterV1()),
              2, proto("event.desc", FormatFixtures.protoReader()),
              9, proto("bad.desc", FormatFixtures.protoWriterIncompatible())));

  static Descriptor message(Source s) throws Exception {
    return SourceSchemas.protobuf(
        s.getKafka().getSchema().getProtobufDescriptorSet(), "test.v1.Event");
  }

  static Descriptor writer(int id) throws Exception {
    return SourceSchemas.protobuf(
        REGISTRY.getKafka().getWriterSchemasOrThrow(id).getProtobufDescriptorSet(),
        "test.v1.Event");
  }

  static final Descriptor EVENT;

  static {
    try {
      EVENT = message(PLAIN);
    } catch (Exception e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  static DynamicMessage.Builder event(Descriptor d, String id, long seconds, int nanos) {
    Descriptor ts = d.findFieldByName("ts").getMessageType();
    return DynamicMessage.newBuilder(d)
        .setField(d.findFieldByName("id"), id)
        .setField(
            d.findFieldByName("ts"),
            DynamicMessage.newBuilder(ts)
                .setField(ts.findFieldByName("seconds"), seconds)
                .setField(ts.findFieldByName("nanos"), nanos)
                .build());
  }

  static void set(DynamicMessage.Builder b, String field, Object value) {
    FieldDescriptor f = b.getDescriptorForType().findFieldByName(field);
    b.setField(f, value);
  }

  static DecodedRecord read(Source source, byte[] value) throws BadRecordException {
    return SourceRecords.of(source, Set.of("id")).read(value);
  }

  @Test
  void decodesEveryDeclaredType() throws Exception {
    DynamicMessage.Builder b = event(EVENT, "a", 1_767_225_600L, 123_456_789);
    set(b, "amount", 2.5);
    set(b, "n", 7);
    set(b, "big", 9007199254740993L);
    set(b, "ok", true);
    set(b, "blob", ByteString.copyFrom(new byte[] {1, 2, 3}));
    set(b, "tags", List.of("x", "y"));
    set(b, "color", EVENT.getFile().findEnumTypeByName("Color").findValueByName("GREEN"));
    set(b, "score", 0.5f);

    DecodedRecord r = read(PLAIN, b.build().toByteArray());

    assertThat(r.fields())
        .containsEntry("id", "a")
        .containsEntry("ts", Instant.parse("2026-01-01T00:00:00.123456Z")) // nanos truncated
        .containsEntry("amount", 2.5)
        .containsEntry("n", 7)
        .containsEntry("big", 9007199254740993L)
        .containsEntry("ok", true)
        .containsEntry("blob", ByteString.copyFrom(new byte[] {1, 2, 3}))
        .containsEntry("tags", List.of("x", "y"))
        .containsEntry("color", "GREEN")
        .containsEntry("score", 0.5f);
    assertThat(r.eventTimeMicros()).isEqualTo(1_767_225_600_123_456L);
  }

  @Test
  void absentFieldsWithPresenceAreNullAndTheOthersTheirDefaults() throws Exception {
    RecordDecoder.Fields f =
        new ProtobufRecordDecoder(PLAIN).decode(event(EVENT, "a", 1, 0).build().toByteArray());
    assertThat(f.nulls()).containsExactlyInAnyOrder("amount", "n", "big", "ok", "blob", "score");
    // color is a proto3 enum without presence: absent is its first value; tags an empty list.
    assertThat(f.values())
        .containsEntry("color", "RED")
        .containsEntry("tags", List.of())
        .containsOnlyKeys("id", "ts", "color", "tags");
  }

  @Test
  void unknownFieldsAreIgnored() throws Exception {
    byte[] known = event(EVENT, "a", 1, 0).build().toByteArray();
    byte[] extra = {(byte) 0xA2, 0x06, 0x02, 'h', 'i'}; // field 100, a string
    assertThat(read(PLAIN, concat(known, extra)).fields()).containsEntry("id", "a");
  }

  @Test
  void theWireIsReadAsProtobufReadsIt() throws Exception {
    byte[] base = event(EVENT, "a", 1, 0).build().toByteArray();
    DynamicMessage.Builder one = DynamicMessage.newBuilder(EVENT);
    set(one, "amount", 1.0);
    DynamicMessage.Builder two = DynamicMessage.newBuilder(EVENT);
    set(two, "amount", 2.0);
    set(two, "tags", List.of("z"));
    // A singular field written twice: the last wins; repeated elements gather.
    byte[] twice =
        concat(
            base, one.build().toByteArray(), two.build().toByteArray(), new byte[] {0x42, 1, 'w'});
    assertThat(read(PLAIN, twice).fields())
        .containsEntry("amount", 2.0)
        .containsEntry("tags", List.of("z", "w"));
    // Field 3 (a double) with a varint's wire type is an unknown field, as Protobuf has it.
    assertThat(new ProtobufRecordDecoder(PLAIN).decode(concat(base, new byte[] {0x18, 5})).nulls())
        .contains("amount");
    // A second ts merges into the first: seconds from one, nanos from the other.
    byte[] nanos = {0x12, 0x02, 0x10, 0x07};
    assertThat(read(PLAIN, concat(base, nanos)).eventTimeMicros()).isEqualTo(1_000_000L);
    byte[] micros = {0x12, 0x03, 0x10, (byte) 0xE8, 0x07};
    assertThat(read(PLAIN, concat(base, micros)).eventTimeMicros()).isEqualTo(1_000_001L);
  }

  @Test
  void anEvolvedWriterIsReadByFieldNumber() throws Exception {
    Descriptor v1 = writer(1);
    DynamicMessage.Builder b = event(v1, "b", 5, 0);
    set(b, "big", 42); // an int32 then
    set(b, "legacy", "dropped");
    // Event is the second message of v1's file: message indexes [1].
    byte[] value = concat(WireFormat.header(1, List.of(1)), b.build().toByteArray());

    DecodedRecord r = read(REGISTRY, value);

    assertThat(r.fields()).containsEntry("id", "b").containsEntry("big", 42L);
    assertThat(r.fields()).doesNotContainKeys("amount", "score", "legacy");
    // The reader's own schema: a single 0 byte for the first message.
    byte[] own = event(EVENT, "c", 5, 0).build().toByteArray();
    assertThat(read(REGISTRY, concat(WireFormat.header(2, List.of(0)), own)).fields())
        .containsEntry("id", "c");
    assertThat(WireFormat.header(2, List.of(0))).hasSize(6);
  }

  @Test
  void wireFormatProblemsHaveTheirOwnReasons() throws Exception {
    byte[] body = event(EVENT, "a", 1, 0).build().toByteArray();
    assertRejected(REGISTRY, body, DeadLetterReason.MISSING_MAGIC_BYTE, "starts with 0x0A");
    assertRejected(
        REGISTRY,
        concat(WireFormat.header(4, List.of(0)), body),
        DeadLetterReason.UNKNOWN_SCHEMA_ID,
        "schema id 4 is not one of the source's writer_schemas [1, 2, 9]");
    assertRejected(
        REGISTRY,
        concat(WireFormat.header(9, List.of(0)), body),
        DeadLetterReason.INCOMPATIBLE_WRITER_SCHEMA,
        "field 3 (amount) is string in the writer and double in the reader");
    // Index [0] of v1 is message Other, whose field 1 is an int64, not the reader's string id.
    assertRejected(
        REGISTRY,
        concat(WireFormat.header(1, List.of(0)), body),
        DeadLetterReason.INCOMPATIBLE_WRITER_SCHEMA,
        "message test.v1.Other) cannot be read as test.v1.Event: field 1 (id) is int64 in the"
            + " writer and string in the reader");
    assertRejected(
        REGISTRY,
        concat(WireFormat.header(1, List.of(5)), body),
        DeadLetterReason.INCOMPATIBLE_WRITER_SCHEMA,
        "message index 5 (of [5]) is past the 2 messages of test/v1/event.proto");
    byte[] cut = WireFormat.header(2, null);
    assertRejected(
        REGISTRY,
        concat(cut, new byte[] {(byte) 0x80}),
        DeadLetterReason.UNDECODABLE_PAYLOAD,
        "the message-index list is cut short");
  }

  @Test
  void bytesThatAreNoMessageAreUndecodable() throws Exception {
    byte[] body = event(EVENT, "a", 1, 0).build().toByteArray();
    assertRejected(
        PLAIN,
        java.util.Arrays.copyOf(body, body.length - 2),
        DeadLetterReason.UNDECODABLE_PAYLOAD,
        "not a Protobuf test.v1.Event");
    assertRejected(
        PLAIN,
        "hello, world".getBytes(StandardCharsets.UTF_8),
        DeadLetterReason.UNDECODABLE_PAYLOAD,
        "not a Protobuf test.v1.Event");
    // A string claiming more bytes than the record has.
    assertRejected(
        PLAIN,
        new byte[] {0x0A, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 0x07, 'a'},
        DeadLetterReason.UNDECODABLE_PAYLOAD,
        "not a Protobuf");
    assertRejected(
        PLAIN, new byte[] {0x0A, 0x02, (byte) 0xC3, '('}, DeadLetterReason.INVALID_STRING, "UTF-8");
  }

  @Test
  void valuesOutsideTheirTypeAreRejectedLikeJson() throws Exception {
    DynamicMessage.Builder big = event(EVENT, "a", 1, 0);
    set(big, "n", -1); // uint32 4294967295
    assertRejected(
        PLAIN,
        big.build().toByteArray(),
        DeadLetterReason.OUT_OF_RANGE,
        "'n' is 4294967295, out of range for int32");
    assertRejected(
        PLAIN,
        event(EVENT, "a", -300L * 365 * 86400, 0).build().toByteArray(),
        DeadLetterReason.TIMESTAMP_OUT_OF_RANGE,
        "'ts' is {seconds: -9460800000, nanos: 0}, outside the accepted times");
    assertRejected(
        PLAIN,
        event(EVENT, "a", 1, -5).build().toByteArray(),
        DeadLetterReason.OUT_OF_RANGE,
        "nanos must be 0 to 999999999");
    byte[] unknownEnum =
        concat(event(EVENT, "a", 1, 0).build().toByteArray(), new byte[] {0x48, 0x07});
    assertRejected(
        PLAIN, unknownEnum, DeadLetterReason.OUT_OF_RANGE, "'color' is enum number 7, not a value");
    Timestamp.getDefaultInstance(); // the fixtures' timestamp.proto is protobuf's own
  }

  @Test
  void theEncoderWritesWhatTheDecoderReadsBack() throws Exception {
    String json =
        "{\"id\":\"k\",\"ts\":\"2026-01-01T00:00:00.123456Z\",\"amount\":1.25,\"n\":3,"
            + "\"big\":-4,\"ok\":false,\"blob\":\"AQID\",\"tags\":[\"p\",\"q\"],\"color\":\"GREEN\","
            + "\"score\":null}";
    RecordDecoder.Fields fields =
        new JsonRecordDecoder(PLAIN).decode(json.getBytes(StandardCharsets.UTF_8));
    for (Source s : List.of(PLAIN, REGISTRY)) {
      Integer id = s == PLAIN ? null : 2;
      byte[] encoded = RecordEncoder.of(s, id).encode(fields);
      RecordDecoder.Fields back = SourceRecords.decoderFor(s).decode(encoded);
      assertThat(back.values()).isEqualTo(fields.values());
      assertThat(back.nulls()).contains("score");
    }
    // An older writer schema whose big is an int32 cannot hold an int64.
    assertThatThrownBy(() -> RecordEncoder.of(REGISTRY, 1).encode(fields))
        .isInstanceOf(BadRecordException.class)
        .hasMessageContaining(
            "'big' cannot be written: declared int64 but the Protobuf field is int32");
    // Without it, writer schema 1 carries Event's message indexes [1] in its header.
    Map<String, Object> older = new java.util.HashMap<>(fields.values());
    older.remove("big");
    byte[] v1 = RecordEncoder.of(REGISTRY, 1).encode(new RecordDecoder.Fields(older, Set.of()));
    assertThat(java.util.Arrays.copyOf(v1, 7)).containsExactly(0, 0, 0, 0, 1, 2, 2);
    assertThat(SourceRecords.decoderFor(REGISTRY).decode(v1).values())
        .containsEntry("n", 3)
        .doesNotContainKeys("amount", "big");
  }

  static void assertRejected(Source s, byte[] value, DeadLetterReason reason, String message) {
    assertThatThrownBy(() -> read(s, value))
        .isInstanceOfSatisfying(
            BadRecordException.class,
            e -> {
              assertThat(e.reason()).isEqualTo(reason);
              assertThat(e.getMessage()).contains(message);
            });
  }
}
