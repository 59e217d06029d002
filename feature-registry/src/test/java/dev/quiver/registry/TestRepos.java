package dev.quiver.registry;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Builds feature repos in temporary directories for tests. */
public final class TestRepos {
  private TestRepos() {}

  /** The text of a test resource. */
  public static String resource(String name) {
    try (InputStream in = TestRepos.class.getResourceAsStream("/" + name)) {
      if (in == null) {
        throw new IllegalArgumentException("no test resource " + name);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * A repo in {@code dir} holding the base fixture (entities card and merchant, source txns, and an
   * Avro schema of txns' fields, {@code schemas/txns.avsc}).
   */
  public static Path base(Path dir) {
    write(dir, "quiver.yaml", resource("base/quiver.yaml"));
    write(dir, "base.yaml", resource("base/base.yaml"));
    write(dir, "schemas/txns.avsc", resource("base/schemas/txns.avsc"));
    return dir;
  }

  public static Path write(Path dir, String file, String text) {
    try {
      Path p = dir.resolve(file);
      Files.createDirectories(p.getParent());
      Files.writeString(p, text);
      return p;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The repository root of the checkout, found from the working directory of the test. */
  public static Path checkoutRoot() {
    Path p = Path.of("").toAbsolutePath();
    while (p != null && !Files.isDirectory(p.resolve("examples"))) {
      p = p.getParent();
    }
    if (p == null) {
      throw new IllegalStateException(
          "cannot find the checkout root from " + Path.of("").toAbsolutePath());
    }
    return p;
  }
}
