package dev.quiver.registry.util;

/**
 * How error messages quote what a client or a file sent: never at full size. A quoted value longer
 * than {@link #MAX_QUOTED} characters is cut there (never inside a surrogate pair) and the message
 * says how long it was, so a 3 MB name gives a one-line error rather than a 3 MB one.
 *
 * <p>Stateless and thread-safe.
 */
public final class Messages {
  /** The most characters of client or file input an error message repeats. */
  public static final int MAX_QUOTED = 100;

  private Messages() {}

  /** {@code 'value'}, or {@code 'first 100 characters…' (N characters)} when longer. */
  public static String quote(CharSequence value) {
    if (value == null) {
      return "null";
    }
    if (value.length() <= MAX_QUOTED) {
      return "'" + value + "'";
    }
    return "'" + clip(value) + "…' (" + value.length() + " characters)";
  }

  /** The value cut to at most {@link #MAX_QUOTED} characters, without quotes or a length. */
  public static String clip(CharSequence value) {
    if (value.length() <= MAX_QUOTED) {
      return value.toString();
    }
    int end = MAX_QUOTED;
    if (Character.isHighSurrogate(value.charAt(end - 1))) {
      end--;
    }
    return value.subSequence(0, end).toString();
  }
}
