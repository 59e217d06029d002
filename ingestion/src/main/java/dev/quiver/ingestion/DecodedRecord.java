package dev.quiver.ingestion;

import java.util.Map;

/**
 * A source record decoded against its schema.
 *
 * @param fields declared fields present in the record (absent and null fields are not in the map)
 * @param eventTimeMillis event time, epoch milliseconds
 * @param createdTimeMillis created time, epoch milliseconds, or {@link
 *     dev.quiver.registry.semantics.OrderKey#NO_CREATED_TIME}
 */
public record DecodedRecord(
    Map<String, Object> fields, long eventTimeMillis, long createdTimeMillis) {}
