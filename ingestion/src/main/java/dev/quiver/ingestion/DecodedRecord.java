package dev.quiver.ingestion;

import java.util.Map;

/**
 * A source record decoded against its schema.
 *
 * @param fields declared fields present in the record (absent and null fields are not in the map)
 * @param eventTimeMicros event time, epoch microseconds
 * @param createdTimeMicros created time, epoch microseconds, or {@link
 *     dev.quiver.registry.semantics.OrderKey#NO_CREATED_TIME}
 */
public record DecodedRecord(
    Map<String, Object> fields, long eventTimeMicros, long createdTimeMicros) {}
