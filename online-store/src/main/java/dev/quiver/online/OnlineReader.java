package dev.quiver.online;

import dev.quiver.proto.v1.Aggregation;
import dev.quiver.proto.v1.Value;
import dev.quiver.registry.rows.ViewId;
import java.io.IOException;
import java.util.List;

/**
 * What serving reads from the online store: the newest row of entities per view, and windowed
 * aggregations. Thread-safe. After the store closes every method throws {@link
 * StoreClosedException}.
 */
public interface OnlineReader {

  /**
   * Reads the rows of several views as of {@code asOfMicros}. {@code keys.get(i)} holds the encoded
   * entity keys ({@link EntityKeyCodec}) to read from view {@code viewIds.get(i)}; the result
   * holds, in the same shape, each entity's newest row visible at that time ({@link
   * dev.quiver.registry.semantics.AsOf}), or null. Every row read is counted against {@code
   * budget}, and its checkpoint is asked between reads whether the caller still waits.
   *
   * @throws LookupBudget.ExceededException when the rows read pass the budget
   * @throws LookupBudget.CancelledException when the caller has gone
   */
  List<List<StoredRow>> read(
      List<ViewId> viewIds, List<List<byte[]>> keys, long asOfMicros, LookupBudget budget)
      throws IOException;

  /**
   * The id of a feature of a view version in its stored rows, or -1 when no row ever carried it.
   */
  int featureId(ViewId view, String feature);

  /**
   * The value of an aggregation over the sawtooth window at {@code nowMicros} ({@link
   * dev.quiver.registry.semantics.Window}), for each encoded entity key; each result's size is
   * counted against {@code budget}.
   */
  List<Value> aggregate(
      ViewId view, Aggregation spec, List<byte[]> keys, long nowMicros, LookupBudget budget)
      throws IOException;
}
