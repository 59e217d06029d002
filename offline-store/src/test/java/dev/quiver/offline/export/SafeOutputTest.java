package dev.quiver.offline.export;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.quiver.proto.v1.Entity;
import dev.quiver.proto.v1.Feature;
import dev.quiver.proto.v1.FeatureView;
import dev.quiver.proto.v1.Field;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.proto.v1.ViewState;
import dev.quiver.registry.Types;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An export never leaves a partial training set or a temporary file behind, and never overwrites
 * its input.
 */
class SafeOutputTest {
  @TempDir Path dir;

  static final RegistrySnapshot REGISTRY = registry();

  static RegistrySnapshot registry() {
    Field key = Field.newBuilder().setName("card_id").setType(Types.parse("string").get()).build();
    return RegistrySnapshot.newBuilder()
        .setVersion(1)
        .addEntities(Entity.newBuilder().setName("card").addJoinKeys(key))
        .addFeatureViews(
            FeatureView.newBuilder()
                .setName("spend")
                .setVersion(1)
                .setState(ViewState.VIEW_STATE_ACTIVE)
                .addEntities("card")
                .addFeatures(
                    Feature.newBuilder().setName("amount").setType(Types.parse("double").get())))
        .build();
  }

  private Path entities(int rows, String header) throws IOException {
    Path file = dir.resolve("entities.csv");
    StringBuilder text = new StringBuilder(header).append('\n');
    for (int i = 0; i < rows; i++) {
      text.append('c').append(i % 100).append(",2026-05-01T00:00:00Z,").append(i).append('\n');
    }
    Files.writeString(file, text);
    return file;
  }

  private TrainingSetExport.Summary export(
      Path entities, Path out, java.util.function.LongConsumer p) throws IOException {
    return TrainingSetExport.run(
        REGISTRY,
        dir.resolve("offline"),
        new TrainingSetExport.Request(
            entities,
            "event_timestamp",
            null,
            List.of("spend:amount"),
            out,
            10_000,
            dir.resolve("spill")),
        p);
  }

  private List<String> leftovers(Path directory) throws IOException {
    try (Stream<Path> files = Files.list(directory)) {
      return files.map(f -> f.getFileName().toString()).filter(n -> n.endsWith(".tmp")).toList();
    }
  }

  /** The progress callback is where a cancelled Flight export stops: after 100,000 rows written. */
  @Test
  void aFailureInTheMiddleOfWritingLeavesNeitherTheOutputNorItsTemporary() throws IOException {
    Path in = entities(250_000, "card_id,event_timestamp,label");
    for (String name : List.of("training.csv", "training.parquet", "training.arrow")) {
      Path out = dir.resolve("out").resolve(name);
      long[] seen = {0};
      assertThatThrownBy(
              () ->
                  export(
                      in,
                      out,
                      n -> {
                        seen[0] = n;
                        if (n >= 100_000) {
                          throw new IllegalStateException("stopped at row " + n);
                        }
                      }))
          .hasMessageContaining("stopped at row 100000");
      assertThat(seen[0]).as("rows were being written").isEqualTo(100_000);
      assertThat(out).doesNotExist();
      assertThat(leftovers(out.getParent())).as(name).isEmpty();
    }
  }

  /**
   * A writer that fails on a row (a value its column cannot hold) fails the export cleanly. (CSV
   * writes any value as text, so only the typed formats can fail this way.)
   */
  @Test
  void aWriterFailingOnARowDiscardsItsFile() throws IOException {
    for (String name : List.of("w.parquet", "w.arrow")) {
      Path out = dir.resolve(name);
      ExportWriter.Column amount = new ExportWriter.Column("amount", Types.parse("double").get());
      assertThatThrownBy(
              () -> {
                try (ExportWriter file = ExportWriter.open(out, List.of(amount));
                    BackgroundWriter writer = new BackgroundWriter(file)) {
                  for (int i = 0; i < 50_000; i++) {
                    writer.row(new Object[] {i == 30_000 ? (Object) List.of("x") : (Object) 1.0});
                  }
                  writer.finish();
                }
              })
          .as(name)
          .isNotNull();
      assertThat(out).doesNotExist();
      assertThat(leftovers(dir)).as(name).isEmpty();
    }
  }

  @Test
  void theEntityTableIsNeverTheOutput() throws IOException {
    Path in = entities(3, "card_id,event_timestamp,label");
    String before = Files.readString(in);
    Path link = dir.resolve("link.csv");
    Files.createSymbolicLink(link, in);
    Files.createDirectories(dir.resolve("sub"));
    for (Path out : List.of(in, link, dir.resolve("sub/../entities.csv"))) {
      assertThatThrownBy(() -> export(in, out, n -> {}))
          .hasMessageContaining("the output is the entity table itself");
    }
    assertThatThrownBy(() -> export(link, in, n -> {}))
        .hasMessageContaining("the output is the entity table itself");
    assertThat(Files.readString(in)).isEqualTo(before);
  }

  @Test
  void collidingAndDuplicateColumnsAreRefusedBeforeAnythingIsWritten() throws IOException {
    Path out = dir.resolve("o.csv");
    Path colliding = entities(3, "card_id,event_timestamp,spend__amount");
    assertThatThrownBy(() -> export(colliding, out, n -> {}))
        .hasMessageContaining(colliding.toString())
        .hasMessageContaining("'spend__amount' (column 3)")
        .hasMessageContaining("feature spend:amount")
        .hasMessageContaining("rename or drop it");
    assertThat(out).doesNotExist();
    assertThat(leftovers(dir)).isEmpty();

    Path duplicate = entities(3, "card_id,event_timestamp,card_id");
    assertThatThrownBy(() -> export(duplicate, out, n -> {}))
        .hasMessageContaining("'card_id' appears twice in the header (columns 1 and 3)");
    assertThat(out).doesNotExist();

    Path in = entities(3, "card_id,event_timestamp,label");
    assertThatThrownBy(
            () ->
                TrainingSetExport.run(
                    REGISTRY,
                    dir.resolve("offline"),
                    new TrainingSetExport.Request(
                        in,
                        "event_timestamp",
                        null,
                        List.of("spend:amount", "spend:amount"),
                        out,
                        10_000,
                        dir.resolve("spill")),
                    n -> {}))
        .hasMessageContaining("feature spend:amount is requested twice");
    assertThat(out).doesNotExist();
  }

  @Test
  void anUnwritableOutputNamesTheFileAndTheReason() throws IOException {
    Path in = entities(3, "card_id,event_timestamp,label");
    assertThatThrownBy(() -> export(in, Path.of("/proc/quiver-test.csv"), n -> {}))
        .isInstanceOf(IOException.class)
        .hasMessageStartingWith("/proc/quiver-test.csv: cannot write the training set: ")
        .hasMessageContaining("does not allow creating");
    Path file = dir.resolve("a-file");
    Files.writeString(file, "x");
    assertThatThrownBy(() -> export(in, file.resolve("o.csv"), n -> {}))
        .hasMessageStartingWith(file.resolve("o.csv") + ": cannot write the training set: ");
  }

  @Test
  void rowsInMemoryMustBePositive() {
    for (int n : new int[] {0, -5}) {
      assertThatThrownBy(
              () ->
                  new TrainingSetExport.Request(
                      dir, "ts", null, List.of("a:b"), dir, n, dir.resolve("spill")))
          .hasMessageContaining("at least 1");
    }
  }
}
