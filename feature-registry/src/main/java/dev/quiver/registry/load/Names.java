package dev.quiver.registry.load;

import dev.quiver.registry.util.Messages;
import java.util.Collection;
import java.util.Set;
import java.util.regex.Pattern;

/** Rules for object, field and feature names, and "did you mean" suggestions. */
final class Names {
  private static final Pattern NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,62}");

  /**
   * CEL reserved words: a source field with one of these names could not be read by expressions.
   */
  static final Set<String> CEL_RESERVED =
      Set.of(
          "true",
          "false",
          "null",
          "in",
          "as",
          "break",
          "const",
          "continue",
          "else",
          "for",
          "function",
          "if",
          "import",
          "let",
          "loop",
          "package",
          "namespace",
          "return",
          "var",
          "void",
          "while");

  private Names() {}

  /**
   * Why {@code name} is not a valid name, or null if it is. Names are identifiers of at most 63
   * characters without a double underscore, which separates view and feature in column names.
   */
  static String problem(String name) {
    if (!NAME.matcher(name).matches()) {
      return Messages.quote(name)
          + " is not a valid name: expected letters, digits and underscores, starting with a letter"
          + " or underscore, at most 63 characters";
    }
    if (name.contains(dev.quiver.registry.semantics.FeatureRef.COLUMN_SEPARATOR)) {
      return Messages.quote(name)
          + " is not a valid name: '__' is reserved as the view__feature separator";
    }
    return null;
  }

  /** A ", did you mean 'x'?" clause for the closest candidate, or "" if none is close. */
  static String suggestion(String wrong, Collection<String> candidates) {
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    int limit = Math.max(1, Math.min(3, wrong.length() / 3));
    for (String c : candidates) {
      if (Math.abs(wrong.length() - c.length()) > limit) {
        continue; // too far apart to suggest, and no edit distance over a huge input
      }
      int d = distance(wrong.toLowerCase(), c.toLowerCase());
      if (d < bestDistance) {
        bestDistance = d;
        best = c;
      }
    }
    return best != null && bestDistance <= limit
        ? " (did you mean " + Messages.quote(best) + "?)"
        : "";
  }

  /** Edit distance counting a swap of neighbours as one edit (optimal string alignment). */
  private static int distance(String a, String b) {
    int[][] d = new int[a.length() + 1][b.length() + 1];
    for (int i = 0; i <= a.length(); i++) {
      d[i][0] = i;
    }
    for (int j = 0; j <= b.length(); j++) {
      d[0][j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
        if (i > 1
            && j > 1
            && a.charAt(i - 1) == b.charAt(j - 2)
            && a.charAt(i - 2) == b.charAt(j - 1)) {
          d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
        }
      }
    }
    return d[a.length()][b.length()];
  }
}
