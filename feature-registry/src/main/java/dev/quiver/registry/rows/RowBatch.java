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
 */
public record RowBatch(List<ViewRow> rows, Map<ViewId, Map<SourcePartition, Long>> positions) {
  public RowBatch {
    rows = List.copyOf(rows);
    Objects.requireNonNull(positions, "positions");
  }
}
