package dev.quiver.ingestion;

import static dev.quiver.ingestion.FormatFixtures.AVRO_READER;
import static dev.quiver.ingestion.FormatFixtures.AVRO_WRITER_INCOMPATIBLE;
import static dev.quiver.ingestion.FormatFixtures.AVRO_WRITER_V1;
import static dev.quiver.ingestion.FormatFixtures.avro;
import static dev.quiver.ingestion.FormatFixtures.concat;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import dev.quiver.proto.v1.Source;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.generic.GenericRecordBuilder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.util.Utf8;
import org.junit.jupiter.api.Test;

/**
 * Binary Avro records, written here by Avro's own writer: every declared type, nulls, evolution
 * through the schema-registry wire format, and each way a record can be bad.
 */
class AvroRecordDecoderTest {
  static final Schema READER = new Schema.Parser().parse(AVRO_READER);
  static final Schema V1 = new Schema.Parser().parse(AVRO_WRITER_V1);
  static final Schema BAD = new Schema.Parser().parse(AVRO_WRITER_INCOMPATIBLE);

  static final Source PLAIN = FormatFixtures.source("avro", avro("events.avsc", AVRO_READER), null);
  static final Source REGISTRY =
      FormatFixtures.source(
          "avro",
          avro("events.avsc", AVRO_READER),
          Map.of(
              1, avro("v1.avsc", AVRO_WRITER_V1),
              2, avro("events.avsc", AVRO_READER),
              9, avro("bad.avsc", AVRO_WRITER_INCOMPATIBLE)));

  static final long TS = 1_767_225_600_123_456L; // 2026-01-01T00:00:00.123456Z

  static byte[] write(Schema schema, GenericRecord r) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    BinaryEncoder e = EncoderFactory.get().binaryEncoder(out, null);
    new GenericDatumWriter<GenericRecord>(schema).write(r, e);
    e.flush();
    return out.toByteArray();
  }

  static GenericRecord full() {
    return new GenericRecordBuilder(READER)
        .set("id", "a")
        .set("ts", TS)
        .set("amount", 2.5)
        .set("n", -7)
        .set("big", 9007199254740993L)
        .set("ok", true)
        .set("blob", ByteBuffer.wrap(new byte[] {1, 2, 3}))
        .set("tags", List.of("x", "y"))
        .set(
            "color",
            new GenericData.EnumSymbol(
                READER.getField("color").schema().getTypes().get(1), "GREEN"))
        .set("score", 0.5f)
        .build();
  }

  static DecodedRecord read(Source source, byte[] value) throws BadRecordException {
    return SourceRecords.of(source, Set.of("id")).read(value);
  }

  static byte[] header(int id) {
    return WireFormat.header(id, null);
  }

  @Test
  void decodesEveryDeclaredType() throws Exception {
    DecodedRecord r = read(PLAIN, write(READER, full()));
    assertThat(r.fields())
        .containsEntry("id", "a")
        .containsEntry("ts", Instant.parse("2026-01-01T00:00:00.123456Z"))
        .containsEntry("amount", 2.5)
        .containsEntry("n", -7)
        .containsEntry("big", 9007199254740993L)
        .containsEntry("ok", true)
        .containsEntry("blob", ByteString.copyFrom(new byte[] {1, 2, 3}))
        .containsEntry("tags", List.of("x", "y"))
        .containsEntry("color", "GREEN")
        .containsEntry("score", 0.5f);
    assertThat(r.eventTimeMicros()).isEqualTo(TS);
  }

  @Test
  void nullUnionsAreNulls() throws Exception {
    GenericRecord r = new GenericRecordBuilder(READER).set("id", "a").set("ts", TS).build();
    RecordDecoder.Fields f = new AvroRecordDecoder(PLAIN).decode(write(READER, r));
    assertThat(f.values()).containsOnlyKeys("id", "ts", "tags");
    assertThat(f.nulls())
        .containsExactlyInAnyOrder("amount", "n", "big", "ok", "blob", "color", "score");
  }

  @Test
  void anEvolvedWriterIsResolvedToTheReaderSchema() throws Exception {
    GenericRecord old =
        new GenericRecordBuilder(V1)
            .set("legacy", "dropped")
            .set("id", "b")
            .set("ts", TS)
            .set("big", 42)
            .set("tags", List.of("t"))
            .build();
    DecodedRecord r = read(REGISTRY, concat(header(1), write(V1, old)));
    assertThat(r.fields())
        .containsEntry("id", "b")
        .containsEntry("big", 42L) // int widened to long
        .containsEntry("tags", List.of("t"))
        .doesNotContainKeys("amount", "color", "score", "legacy"); // reader defaults: null

    // The reader's own id decodes as plain records do.
    assertThat(read(REGISTRY, concat(header(2), write(READER, full()))).fields())
        .containsEntry("color", "GREEN");
  }

  @Test
  void wireFormatProblemsHaveTheirOwnReasons() throws Exception {
    byte[] body = write(READER, full());
    assertRejected(REGISTRY, body, DeadLetterReason.MISSING_MAGIC_BYTE, "starts with 0x02");
    assertRejected(REGISTRY, new byte[] {0, 0, 1}, DeadLetterReason.MISSING_MAGIC_BYTE, "3 bytes");
    assertRejected(
        REGISTRY,
        concat(header(5), body),
        DeadLetterReason.UNKNOWN_SCHEMA_ID,
        "schema id 5 is not one of the source's writer_schemas [1, 2, 9]");
    GenericRecord bad = new GenericRecordBuilder(BAD).set("id", 7L).set("ts", TS).build();
    assertRejected(
        REGISTRY,
        concat(header(9), write(BAD, bad)),
        DeadLetterReason.INCOMPATIBLE_WRITER_SCHEMA,
        "records of writer schema 9 (bad.avsc) cannot be read with the reader schema:"
            + " type_mismatch at /fields/0/type");
    // The verdict is kept: the next record of id 9 gets the same.
    assertRejected(
        REGISTRY,
        concat(header(9), write(BAD, bad)),
        DeadLetterReason.INCOMPATIBLE_WRITER_SCHEMA,
        "type_mismatch");
  }

  @Test
  void bytesThatAreNoRecordOfTheSchemaAreUndecodable() throws Exception {
    byte[] body = write(READER, full());
    assertRejected(
        PLAIN,
        java.util.Arrays.copyOf(body, body.length - 3),
        DeadLetterReason.UNDECODABLE_PAYLOAD,
        "not an Avro record of test.v1.Event");
    assertRejected(
        PLAIN,
        concat(body, new byte[] {1}),
        DeadLetterReason.UNDECODABLE_PAYLOAD,
        "bytes are left after the Avro record");
    // A union branch that does not exist.
    byte[] branch = body.clone();
    int at = 1 + 1 + varintLength(TS << 1 ^ TS >> 63); // after id "a" and ts
    branch[at] = 0x7E;
    assertRejected(PLAIN, branch, DeadLetterReason.UNDECODABLE_PAYLOAD, "not an Avro record");
    // A string claiming a gigabyte: refused without allocating it.
    assertRejected(
        PLAIN,
        new byte[] {(byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, 0x08, 'a'},
        DeadLetterReason.UNDECODABLE_PAYLOAD,
        "not an Avro record");
    assertRejected(PLAIN, new byte[0], DeadLetterReason.UNDECODABLE_PAYLOAD, "not an Avro record");
  }

  @Test
  void aListClaimingBillionsOfItemsIsRefusedWithoutAllocatingThem() throws Exception {
    GenericRecord r = new GenericRecordBuilder(READER).set("id", "a").set("ts", TS).build();
    byte[] body = write(READER, r);
    // The record ends with tags (an empty array: 0), then color and score (null branches: 0, 0).
    byte[] head = java.util.Arrays.copyOf(body, body.length - 3);
    byte[] huge = {(byte) 0xEC, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 0x0F}; // 2^31 - 10 items
    assertRejected(
        PLAIN,
        concat(head, huge, new byte[] {2, 'x'}),
        DeadLetterReason.UNDECODABLE_PAYLOAD,
        "not an Avro record");
  }

  static int varintLength(long zigzag) {
    int n = 1;
    while ((zigzag & ~0x7FL) != 0) {
      zigzag >>>= 7;
      n++;
    }
    return n;
  }

  @Test
  void valuesOutsideTheirTypeAreRejectedLikeJson() throws Exception {
    GenericRecord early = full();
    early.put("ts", -10_000_000_000_000_000L);
    assertRejected(
        PLAIN,
        write(READER, early),
        DeadLetterReason.TIMESTAMP_OUT_OF_RANGE,
        "'ts' is -10000000000000000 epoch microseconds, outside the accepted times");

    GenericRecord badText = full();
    badText.put("id", new Utf8(new byte[] {'a', (byte) 0xC3, '(', 'b'}));
    assertRejected(
        PLAIN,
        write(READER, badText),
        DeadLetterReason.INVALID_STRING,
        "'id' holds invalid UTF-8 at byte 1 of 4 (0xC3)");

    GenericRecord noKey = full();
    noKey.put("id", "");
    assertThat(read(PLAIN, write(READER, noKey)).fields()).containsEntry("id", "");
  }

  @Test
  void theEncoderWritesWhatTheDecoderReadsBack() throws Exception {
    String json =
        "{\"id\":\"k\",\"ts\":\"2026-01-01T00:00:00.123456Z\",\"amount\":1.25,\"n\":3,"
            + "\"big\":-4,\"ok\":false,\"blob\":\"AQID\",\"tags\":[\"p\",\"q\"],\"color\":\"RED\","
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
    // Written with writer schema 1, read back through resolution: what v1 lacks is null.
    byte[] v1 =
        RecordEncoder.of(REGISTRY, 1)
            .encode(
                new RecordDecoder.Fields(
                    Map.of("id", "k", "ts", Instant.ofEpochSecond(1)), Set.of()));
    assertThat(v1[4]).isEqualTo((byte) 1);
    assertThatThrownBy(
            () ->
                RecordEncoder.of(REGISTRY, 1)
                    .encode(new RecordDecoder.Fields(Map.of("id", "k"), Set.of())))
        .isInstanceOf(BadRecordException.class)
        .hasMessageContaining(
            "'ts' is absent but Avro field ts of test.v1.Event is long (timestamp-micros) with no"
                + " default");
  }

  @Test
  void aNullTheAvroFieldCannotHoldIsNotWrittenAsItsDefault() {
    assertThatThrownBy(
            () ->
                RecordEncoder.of(REGISTRY, 1)
                    .encode(
                        new RecordDecoder.Fields(
                            Map.of("id", "k", "ts", Instant.ofEpochSecond(1)), Set.of("tags"))))
        .isInstanceOf(BadRecordException.class)
        .hasMessageContaining(
            "'tags' is null but Avro field tags of test.v1.Event is array of string, which cannot be null");
  }

  @Test
  void anEnumSymbolTheSchemaLacksCannotBeWritten() {
    assertThatThrownBy(
            () ->
                RecordEncoder.of(PLAIN, null)
                    .encode(
                        new RecordDecoder.Fields(
                            Map.of("id", "k", "ts", Instant.ofEpochSecond(1), "color", "BLUE"),
                            Set.of())))
        .isInstanceOfSatisfying(
            BadRecordException.class,
            e -> {
              assertThat(e.reason()).isEqualTo(DeadLetterReason.WRONG_TYPE);
              assertThat(e.getMessage())
                  .contains("'color' is 'BLUE', not a symbol of Avro enum test.v1.Color");
            });
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
