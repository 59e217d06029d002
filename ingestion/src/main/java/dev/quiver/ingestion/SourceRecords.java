package dev.quiver.ingestion;

import dev.quiver.proto.v1.Source;
import dev.quiver.registry.semantics.Micros;
import dev.quiver.registry.semantics.OrderKey;
import dev.quiver.registry.semantics.TimeRange;
import java.time.Instant;
import java.util.Objects;
import java.util.Set;

/**
 * A source's records as ingestion reads them: the value decoded by the decoder of the source's
 * {@code format} ({@link #decoderFor}), then the checks that do not depend on the format, here once
 * for every format: a value at all, the join keys present and non-null, the event timestamp
 * present, both timestamps inside {@link TimeRange} (an int64 time field holds epoch milliseconds).
 *
 * <p>Thread-safe.
 */
public final class SourceRecords {
  private final RecordDecoder decoder;
  private final String eventField;
  private final String createdField;
  private final Set<String> requiredKeys;

  /**
   * @param source the source
   * @param joinKeys fields that must be present and non-null: the join keys of the source's views
   * @param decoder reads the source's format
   */
  public SourceRecords(Source source, Set<String> joinKeys, RecordDecoder decoder) {
    this.decoder = Objects.requireNonNull(decoder, "decoder");
    this.eventField = source.getEventTimestampField();
    this.createdField = source.getCreatedTimestampField();
    this.requiredKeys = Set.copyOf(joinKeys);
  }

  /** The records of {@code source}, read by the decoder of its format. */
  public static SourceRecords of(Source source, Set<String> joinKeys) {
    return new SourceRecords(source, joinKeys, decoderFor(source));
  }

  /**
   * The decoder of the source's {@code format}.
   *
   * @throws IllegalArgumentException for a format there is no decoder of, or a schema the decoder
   *     cannot use
   */
  public static RecordDecoder decoderFor(Source source) {
    String format = source.getKafka().getFormat();
    return switch (format) {
      case "", "json" -> new JsonRecordDecoder(source);
      case "avro" -> new AvroRecordDecoder(source);
      case "protobuf" -> new ProtobufRecordDecoder(source);
      default ->
          throw new IllegalArgumentException(
              "source " + source.getName() + ": no decoder of format '" + format + "'");
    };
  }

  /** Decodes and checks one record value. */
  public DecodedRecord read(byte[] value) throws BadRecordException {
    if (value == null) {
      throw new BadRecordException(DeadLetterReason.EMPTY_RECORD, "record has no value");
    }
    return check(decoder.decode(value));
  }

  /**
   * Checks fields read by any decoder, or from any other file of the source's records: join keys
   * present and non-null, the event timestamp present, both timestamps inside {@link TimeRange}.
   */
  public DecodedRecord check(RecordDecoder.Fields fields) throws BadRecordException {
    for (String key : requiredKeys) {
      if (fields.nulls().contains(key)) {
        throw new BadRecordException(
            DeadLetterReason.NULL_JOIN_KEY, "join key '" + key + "' is null");
      }
      if (!fields.values().containsKey(key)) {
        throw new BadRecordException(
            DeadLetterReason.MISSING_JOIN_KEY, "join key '" + key + "' is missing");
      }
    }
    Object event = fields.values().get(eventField);
    if (event == null) {
      throw new BadRecordException(
          DeadLetterReason.MISSING_EVENT_TIMESTAMP,
          "event timestamp '" + eventField + "' is missing or null");
    }
    long eventMicros = micros(eventField, event);
    long createdMicros =
        createdField.isEmpty() || fields.values().get(createdField) == null
            ? OrderKey.NO_CREATED_TIME
            : micros(createdField, fields.values().get(createdField));
    return new DecodedRecord(fields.values(), eventMicros, createdMicros);
  }

  /**
   * An event or created time in epoch microseconds (an int64 field is epoch milliseconds), refusing
   * times outside {@link TimeRange}.
   */
  private static long micros(String name, Object timestamp) throws BadRecordException {
    if (timestamp instanceof Long l) {
      if (!TimeRange.containsMillis(l)) {
        throw outOfRange(name, l + " epoch milliseconds");
      }
      return Micros.ofMillis(l);
    }
    // Decoders check instants against the range, and truncate them to microseconds, as they read.
    return Micros.of((Instant) timestamp);
  }

  /** The dead letter of a time outside {@link TimeRange}, for every decoder. */
  static BadRecordException outOfRange(String name, String value) {
    return new BadRecordException(
        DeadLetterReason.TIMESTAMP_OUT_OF_RANGE,
        "'" + name + "' is " + value + ", outside the accepted times " + TimeRange.describe());
  }
}
