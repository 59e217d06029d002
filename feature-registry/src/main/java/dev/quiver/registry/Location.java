package dev.quiver.registry;

/**
 * Where something was declared: a file and a 1-based line and column.
 *
 * @param file the file, relative to the repo root where possible
 * @param line 1-based line
 * @param column 1-based column
 */
public record Location(String file, int line, int column) {

  /** A diagnostic at this location. */
  public Diagnostic error(String message) {
    return new Diagnostic(file, line, column, message);
  }

  /** This location moved right by {@code columns} on the same line. */
  public Location shifted(int lines, int columns) {
    return new Location(file, line + lines, lines == 0 ? column + columns : columns + 1);
  }

  @Override
  public String toString() {
    return file + ":" + line + ":" + column;
  }
}
