package dev.quiver.registry;

import java.util.List;
import java.util.stream.Collectors;

/** A feature repo failed validation; carries every problem found, in file and position order. */
public final class RegistryValidationException extends Exception {
  private final List<Diagnostic> diagnostics;

  public RegistryValidationException(List<Diagnostic> diagnostics) {
    super(format(diagnostics));
    this.diagnostics = diagnostics.stream().sorted(Diagnostic.ORDER).toList();
  }

  /** Every problem found, sorted by file and position. Never empty. */
  public List<Diagnostic> diagnostics() {
    return diagnostics;
  }

  private static String format(List<Diagnostic> diagnostics) {
    return diagnostics.size()
        + (diagnostics.size() == 1 ? " error" : " errors")
        + " in the feature repo:\n"
        + diagnostics.stream()
            .sorted(Diagnostic.ORDER)
            .map(Diagnostic::toString)
            .collect(Collectors.joining("\n"));
  }
}
