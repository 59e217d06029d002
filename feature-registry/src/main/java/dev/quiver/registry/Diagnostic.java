package dev.quiver.registry;

import java.util.Comparator;
import java.util.Objects;

/**
 * One problem found in a feature repo, located at a file, line and column (both 1-based).
 *
 * @param file the file, as given to the loader (relative to the repo root where possible)
 * @param line 1-based line, or 0 when the problem concerns the file as a whole
 * @param column 1-based column, or 0 when the problem concerns the file as a whole
 * @param message what is wrong and what was expected
 */
public record Diagnostic(String file, int line, int column, String message) {

  /** Orders diagnostics by file, then position, then message. */
  public static final Comparator<Diagnostic> ORDER =
      Comparator.comparing(Diagnostic::file)
          .thenComparingInt(Diagnostic::line)
          .thenComparingInt(Diagnostic::column)
          .thenComparing(Diagnostic::message);

  public Diagnostic {
    Objects.requireNonNull(file, "file");
    Objects.requireNonNull(message, "message");
  }

  /** {@code file:line:column: message}, the form editors and compilers use. */
  @Override
  public String toString() {
    return file + ":" + line + ":" + column + ": " + message;
  }
}
