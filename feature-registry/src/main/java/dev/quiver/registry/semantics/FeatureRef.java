package dev.quiver.registry.semantics;

import java.util.Objects;
import java.util.Optional;

/**
 * A reference to a feature, {@code view:feature}, or {@code view@N:feature} for version N of the
 * view, and the column that holds it in exported tables and full-name responses, {@code
 * view__feature}. The one grammar of references and the one rule of column names: the registry,
 * online serving, the export command and Flight all parse and name through here.
 *
 * <p>A view and a feature are identifiers (a letter or {@code _}, then letters, digits and {@code
 * _}); a feature may also be {@code *} (every feature of the view), which only feature services
 * accept.
 *
 * @param view the view's name
 * @param version the view's version, or 0 for the active one
 * @param feature the feature's name, or {@code *}
 */
public record FeatureRef(String view, long version, String feature) {
  /** The feature of a reference that names every feature of its view. */
  public static final String ALL = "*";

  /** What separates view and feature in column names; names may never contain it. */
  public static final String COLUMN_SEPARATOR = "__";

  public FeatureRef {
    Objects.requireNonNull(view, "view");
    Objects.requireNonNull(feature, "feature");
    if (version < 0) {
      throw new IllegalArgumentException("version must not be negative: " + version);
    }
  }

  /** The reference in {@code text}, or empty if it does not follow the grammar. */
  public static Optional<FeatureRef> parse(String text) {
    int colon = text.indexOf(':');
    if (colon < 0) {
      return Optional.empty();
    }
    int at = text.lastIndexOf('@', colon);
    String view = text.substring(0, at < 0 ? colon : at);
    String feature = text.substring(colon + 1);
    if (!isIdentifier(view) || !(feature.equals(ALL) || isIdentifier(feature))) {
      return Optional.empty();
    }
    long version = 0;
    if (at >= 0) {
      String digits = text.substring(at + 1, colon);
      if (digits.isEmpty()
          || digits.length() > 18
          || !digits.chars().allMatch(Character::isDigit)) {
        return Optional.empty();
      }
      version = Long.parseLong(digits);
      if (version == 0) {
        return Optional.empty();
      }
    }
    return Optional.of(new FeatureRef(view, version, feature));
  }

  /** Whether the reference names every feature of its view ({@code view:*}). */
  public boolean isAll() {
    return feature.equals(ALL);
  }

  /** {@code view} or {@code view@N}: the view version the reference names. */
  public String viewReference() {
    return version == 0 ? view : view + "@" + version;
  }

  /** The reference as text: {@code view:feature} or {@code view@N:feature}. */
  public String text() {
    return viewReference() + ":" + feature;
  }

  /** {@code view__feature}: the column of a feature in exports and full-name responses. */
  public static String columnName(String view, String feature) {
    return view + COLUMN_SEPARATOR + feature;
  }

  /** {@code view:feature} for a column named {@code view__feature}, for messages. */
  public static String referenceOfColumn(String column) {
    return column.replaceFirst(COLUMN_SEPARATOR, ":");
  }

  private static boolean isIdentifier(String s) {
    if (s.isEmpty()) {
      return false;
    }
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      boolean letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
      if (!letter && (i == 0 || c < '0' || c > '9')) {
        return false;
      }
    }
    return true;
  }
}
