package dev.quiver.client;

import io.grpc.StatusRuntimeException;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.flight.FlightStream;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * A training set streaming back from {@code quiver serve}: the entity rows in their original order,
 * with their columns and one column per feature ({@code view__feature}), in Arrow record batches.
 *
 * <pre>{@code
 * try (TrainingSet set = quiver.exportTrainingSet(request, entities)) {
 *   while (set.next()) {
 *     VectorSchemaRoot batch = set.root();
 *     ...
 *   }
 * }
 * }</pre>
 *
 * <p>Not thread-safe. {@link #close()} releases the batches' memory and cancels an unfinished
 * stream.
 */
public final class TrainingSet implements AutoCloseable {
  private final FlightClient.ExchangeReaderWriter exchange;
  private final FlightStream stream;
  private long rows;

  TrainingSet(FlightClient.ExchangeReaderWriter exchange) {
    this.exchange = exchange;
    this.stream = exchange.getReader();
  }

  /** The columns: the entity table's, then the features'. */
  public Schema schema() {
    try {
      return stream.getSchema();
    } catch (FlightRuntimeException e) {
      throw QuiverClient.status(e);
    }
  }

  /**
   * The server's report of entity rows later than the offline store's watermark of a view they read
   * — how many, and per view its watermark (its newest committed event) and its rows past it — or
   * empty when there are none. Features at such rows may lack events the offline store had not
   * committed yet; {@link TrainingSetRequest#refusePastWatermark()} refuses such an export instead.
   *
   * @throws StatusRuntimeException when the export failed
   */
  public java.util.Optional<String> pastWatermark() {
    java.util.Map<String, String> metadata = schema().getCustomMetadata();
    return java.util.Optional.ofNullable(metadata == null ? null : metadata.get(PAST_WATERMARK));
  }

  /** The schema metadata key under which the server reports rows past the offline watermark. */
  static final String PAST_WATERMARK = "quiver.past_watermark";

  /**
   * Loads the next batch into {@link #root()}.
   *
   * @return false at the end of the training set
   * @throws StatusRuntimeException when the export failed
   */
  public boolean next() {
    try {
      boolean more = stream.next();
      if (more) {
        rows += stream.getRoot().getRowCount();
      }
      return more;
    } catch (FlightRuntimeException e) {
      throw QuiverClient.status(e);
    }
  }

  /** The current batch; its vectors are reused by the next call to {@link #next()}. */
  public VectorSchemaRoot root() {
    return stream.getRoot();
  }

  /** Rows received so far. */
  public long rowsRead() {
    return rows;
  }

  @Override
  public void close() {
    try {
      exchange.close();
    } catch (FlightRuntimeException e) {
      // Closing a stream the server already ended with an error: the error was reported by next().
    } catch (Exception e) {
      throw new IllegalStateException("closing the training-set stream failed", e);
    }
  }
}
