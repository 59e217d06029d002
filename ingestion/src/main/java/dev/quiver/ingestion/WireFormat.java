package dev.quiver.ingestion;

import dev.quiver.proto.v1.KafkaSource;
import dev.quiver.registry.formats.ValueException;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * The schema-registry wire format (Confluent's): a 0 byte, the writer schema's id as 4 big-endian
 * bytes, and for Protobuf the message-index list — a zigzag varint count, then that many zigzag
 * varint indexes; a count of 0 (a single 0 byte) stands for {@code [0]}, the first message — then
 * the encoded record.
 *
 * <p>Stateless and thread-safe.
 */
public final class WireFormat {
  private WireFormat() {}

  /** The {@code wire_format} value of the schema-registry header. */
  public static final String SCHEMA_REGISTRY = "schema_registry";

  /** The first byte of every value in the wire format. */
  public static final byte MAGIC = 0;

  /** Bytes before the payload (Avro) or before the message indexes (Protobuf). */
  public static final int HEADER_BYTES = 5;

  /** The most message indexes read: deeper nesting than any real schema has. */
  static final int MAX_INDEXES = 64;

  /** Whether the source's values carry the schema-registry header. */
  public static boolean usesRegistry(KafkaSource kafka) {
    return SCHEMA_REGISTRY.equals(kafka.getWireFormat());
  }

  /** The schema id of a value, checked for the header's magic byte and length. */
  static int schemaId(byte[] value) throws BadRecordException {
    if (value.length == 0 || value[0] != MAGIC) {
      throw new BadRecordException(
          DeadLetterReason.MISSING_MAGIC_BYTE,
          value.length == 0
              ? "record value is empty; expected the schema-registry header (a 0 byte, a 4-byte"
                  + " schema id)"
              : String.format(
                  "record value starts with 0x%02X; expected the schema-registry header's 0 byte"
                      + " (the source has wire_format schema_registry)",
                  value[0] & 0xFF));
    }
    if (value.length < HEADER_BYTES) {
      throw new BadRecordException(
          DeadLetterReason.MISSING_MAGIC_BYTE,
          "record value is "
              + value.length
              + " bytes, shorter than the 5-byte schema-registry header");
    }
    return ((value[1] & 0xFF) << 24)
        | ((value[2] & 0xFF) << 16)
        | ((value[3] & 0xFF) << 8)
        | (value[4] & 0xFF);
  }

  /** The Protobuf message indexes after the header, and where the payload starts. */
  record Indexes(List<Integer> path, int payloadOffset) {}

  static Indexes messageIndexes(byte[] value) throws BadRecordException {
    int[] at = {HEADER_BYTES};
    int count = varint(value, at);
    if (count < 0 || count > MAX_INDEXES) {
      throw new BadRecordException(
          DeadLetterReason.UNDECODABLE_PAYLOAD,
          "message-index count " + count + " is outside 0 to " + MAX_INDEXES);
    }
    if (count == 0) {
      return new Indexes(List.of(), at[0]);
    }
    List<Integer> path = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      path.add(varint(value, at));
    }
    return new Indexes(List.copyOf(path), at[0]);
  }

  /** A zigzag varint of at most 5 bytes at {@code at[0]}, advancing it. */
  private static int varint(byte[] b, int[] at) throws BadRecordException {
    int raw = 0;
    for (int shift = 0; shift < 35; shift += 7) {
      if (at[0] >= b.length) {
        throw new BadRecordException(
            DeadLetterReason.UNDECODABLE_PAYLOAD,
            "the message-index list is cut short at byte " + at[0]);
      }
      int x = b[at[0]++];
      raw |= (x & 0x7F) << shift;
      if ((x & 0x80) == 0) {
        return (raw >>> 1) ^ -(raw & 1);
      }
    }
    throw new BadRecordException(
        DeadLetterReason.UNDECODABLE_PAYLOAD,
        "a message index before byte " + at[0] + " is longer than a 32-bit varint");
  }

  /** The header for {@code schemaId}, followed (for Protobuf) by {@code indexes}. */
  public static byte[] header(int schemaId, List<Integer> indexes) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(MAGIC);
    out.write(schemaId >>> 24);
    out.write(schemaId >>> 16);
    out.write(schemaId >>> 8);
    out.write(schemaId);
    if (indexes != null) {
      if (indexes.equals(List.of(0))) {
        out.write(0);
      } else {
        writeVarint(out, indexes.size());
        indexes.forEach(i -> writeVarint(out, i));
      }
    }
    return out.toByteArray();
  }

  private static void writeVarint(ByteArrayOutputStream out, int v) {
    int z = (v << 1) ^ (v >> 31);
    while ((z & ~0x7F) != 0) {
      out.write((z & 0x7F) | 0x80);
      z >>>= 7;
    }
    out.write(z);
  }

  /** The dead letter of a value that does not fit its declared type. */
  static BadRecordException bad(ValueException e) {
    return switch (e.kind()) {
      case TIMESTAMP_OUT_OF_RANGE -> SourceRecords.outOfRange(e.field(), e.value());
      case OUT_OF_RANGE -> new BadRecordException(DeadLetterReason.OUT_OF_RANGE, e.getMessage());
      case INVALID_STRING ->
          new BadRecordException(DeadLetterReason.INVALID_STRING, e.getMessage());
      case BAD_LIST_ELEMENT ->
          new BadRecordException(DeadLetterReason.BAD_LIST_ELEMENT, e.getMessage());
      case WRONG_TYPE -> new BadRecordException(DeadLetterReason.WRONG_TYPE, e.getMessage());
    };
  }
}
