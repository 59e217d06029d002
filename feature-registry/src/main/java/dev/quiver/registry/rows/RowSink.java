package dev.quiver.registry.rows;

import java.io.IOException;
import java.util.Collection;

/**
 * Where ingestion delivers computed rows: the online store, the offline store. A sink records, with
 * the rows themselves, how far each view version has read each source partition; after a restart,
 * ingestion resumes every view exactly after its recorded position, so no record is lost and none
 * is applied twice.
 *
 * <p>Implementations are thread-safe: ingestion of different sources calls them concurrently.
 */
public interface RowSink {

  /** A short name for logs and metrics. */
  String name();

  /**
   * The offset of the next record of {@code partition} to apply to {@code view}, or 0 when the view
   * has applied nothing from it.
   */
  long position(ViewId view, SourcePartition partition) throws IOException;

  /** Applies rows and positions atomically. */
  void write(RowBatch batch) throws IOException;

  /** Prepares storage for these view versions (those of the registry version being applied). */
  void prepare(Collection<ViewId> views) throws IOException;
}
