package dev.quiver.ingestion;

import java.util.Map;
import java.util.Set;

/**
 * Reads a record's value, in one format, into the source's declared fields: each present field as
 * its Java form (bool Boolean, int32 Integer, int64 Long, float Float, double Double, string
 * String, bytes ByteString, timestamp Instant truncated to microseconds and inside {@link
 * dev.quiver.registry.semantics.TimeRange}, list&lt;T&gt; an immutable List), each explicit null
 * apart. Undeclared fields are ignored. What does not depend on the format — join keys present and
 * non-null, the event and created timestamps — is checked once, after any decoder, by {@link
 * SourceRecords}.
 *
 * <p>Implementations are thread-safe.
 */
public interface RecordDecoder {
  /**
   * The declared fields of one record.
   *
   * @param values present fields by name
   * @param nulls fields the record holds as explicit nulls
   */
  record Fields(Map<String, Object> values, Set<String> nulls) {}

  /**
   * Decodes a record value (never null).
   *
   * @throws BadRecordException with the dead-letter reason when the value cannot be read
   */
  Fields decode(byte[] value) throws BadRecordException;
}
