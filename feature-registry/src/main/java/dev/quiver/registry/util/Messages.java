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

  /** The most items of a list of names an error message spells out. */
  public static final int MAX_LISTED = 20;

  private Messages() {}

  /**
   * Names joined with commas, at most {@link #MAX_LISTED} of them, then how many there are in all:
   * a message listing the fields of a source with ten thousand fields stays one short line.
   */
  public static String list(java.util.Collection<? extends CharSequence> names) {
    StringBuilder out = new StringBuilder();
    int i = 0;
    for (CharSequence n : names) {
      if (i == MAX_LISTED) {
        return out.append(", … (").append(names.size()).append(" in all)").toString();
      }
      out.append(i++ == 0 ? "" : ", ").append(clip(n));
    }
    return out.toString();
  }

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
