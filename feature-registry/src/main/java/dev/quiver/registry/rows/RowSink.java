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
   * has applied nothing from it. This is the writer's side of the protocol: after a failed {@link
   * #write} (or a failure the sink reports on a later write), the writer reads the positions again
   * and writes from there; a sink may refuse writes of a view until then.
   */
  long position(ViewId view, SourcePartition partition) throws IOException;

  /**
   * Whether the sink dropped rows of {@code view} it had accepted (a failed background commit): the
   * writer then reads the view's positions again and writes from there, as after a failed write.
   * Checked between polls, so a quiet source recovers without waiting for new records.
   */
  default boolean rewindNeeded(ViewId view) {
    return false;
  }

  /**
   * Whether the sink stores {@code view} at all; ingestion hands it neither rows nor positions of a
   * view it does not accept. Every feature view is accepted; a {@link SourceArchive} only by the
   * offline store.
   */
  default boolean accepts(ViewId view) {
    return !SourceArchive.isArchive(view);
  }

  /** Applies rows and positions atomically. */
  void write(RowBatch batch) throws IOException;

  /** Prepares storage for these view versions (those of the registry version being applied). */
  void prepare(Collection<ViewId> views) throws IOException;
}
