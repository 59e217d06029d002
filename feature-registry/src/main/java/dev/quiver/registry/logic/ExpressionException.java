package dev.quiver.registry.logic;

/** Evaluating a feature expression failed for one row (division by zero, overflow, range...). */
public final class ExpressionException extends Exception {
  public ExpressionException(String message, Throwable cause) {
    super(message, cause);
  }

  public ExpressionException(String message) {
    super(message);
  }
}
