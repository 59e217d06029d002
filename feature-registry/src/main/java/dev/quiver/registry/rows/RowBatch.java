package dev.quiver.registry.rows;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Rows computed from a run of records of one source, with the positions they bring each view to. A
 * sink applies a batch atomically: its rows and its positions together, or neither.
 *
 * @param rows computed rows, in record order
 * @param positions for each view version and partition, the offset of the next record to read
 * @param clockMicros the ingesting clock when the records were read, epoch microseconds: rows
 *     stamped after it are not yet visible to lookups ({@link
 *     dev.quiver.registry.semantics.FutureEvents}), so the online store holds them apart until a
 *     later clock reaches them
 */
public record RowBatch(
    List<ViewRow> rows, Map<ViewId, Map<SourcePartition, Long>> positions, long clockMicros) {
  public RowBatch {
    rows = List.copyOf(rows);
    Objects.requireNonNull(positions, "positions");
  }

  /** A batch read by a clock past all of its rows: none is held apart. */
  public RowBatch(List<ViewRow> rows, Map<ViewId, Map<SourcePartition, Long>> positions) {
    this(rows, positions, Long.MAX_VALUE);
  }
}
