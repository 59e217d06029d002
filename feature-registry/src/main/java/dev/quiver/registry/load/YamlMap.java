package dev.quiver.registry.load;

import dev.quiver.registry.Location;
import dev.quiver.registry.util.Messages;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;

/**
 * Typed, located access to a YAML mapping node. Every problem is reported to the {@link Problems}
 * sink with the position of the offending node, and reading goes on so that all problems of a repo
 * are reported together.
 */
final class YamlMap {
  private final String file;
  private final Node node;
  private final String what;
  private final Problems problems;
  private final Map<String, NodeTuple> entries = new LinkedHashMap<>();

  private YamlMap(String file, Node node, String what, Problems problems) {
    this.file = file;
    this.node = node;
    this.what = what;
    this.problems = problems;
    if (node instanceof MappingNode mapping) {
      for (NodeTuple tuple : mapping.getValue()) {
        Node key = tuple.getKeyNode();
        if (!(key instanceof ScalarNode scalar) || !key.getTag().equals(Tag.STR)) {
          problems.add(at(key), "expected a name as the key in " + what);
          continue;
        }
        if (!text(scalar, "a key in " + what)) {
          continue;
        }
        NodeTuple previous = entries.putIfAbsent(scalar.getValue(), tuple);
        if (previous != null) {
          problems.add(
              at(key),
              "duplicate key "
                  + Messages.quote(scalar.getValue())
                  + " in "
                  + what
                  + " (first at line "
                  + at(previous.getKeyNode()).line()
                  + ")");
        }
      }
    }
  }

  /**
   * Reads {@code node} as a mapping, reporting a problem (and returning an empty map) if it is not.
   */
  static YamlMap of(String file, Node node, String what, Problems problems) {
    if (node != null && !(node instanceof MappingNode) && !isNull(node)) {
      problems.add(
          location(file, node), "expected a mapping for " + what + ", found " + kind(node));
    }
    return new YamlMap(file, node, what, problems);
  }

  String file() {
    return file;
  }

  /** Position of the mapping itself. */
  Location location() {
    return at(node);
  }

  Location at(Node n) {
    return location(file, n);
  }

  static Location location(String file, Node n) {
    if (n == null) {
      return new Location(file, 1, 1);
    }
    return new Location(file, n.getStartMark().getLine() + 1, n.getStartMark().getColumn() + 1);
  }

  /** Reports every key outside {@code allowed}, suggesting the closest allowed key. */
  YamlMap allowOnly(Collection<String> allowed) {
    for (Map.Entry<String, NodeTuple> e : entries.entrySet()) {
      if (!allowed.contains(e.getKey())) {
        problems.add(
            at(e.getValue().getKeyNode()),
            "unknown key "
                + Messages.quote(e.getKey())
                + " in "
                + what
                + Names.suggestion(e.getKey(), allowed)
                + "; expected one of: "
                + String.join(", ", allowed));
      }
    }
    return this;
  }

  Set<String> keys() {
    return entries.keySet();
  }

  boolean has(String key) {
    return entries.containsKey(key) && !isNull(entries.get(key).getValueNode());
  }

  Optional<Node> node(String key) {
    NodeTuple t = entries.get(key);
    return t == null || isNull(t.getValueNode()) ? Optional.empty() : Optional.of(t.getValueNode());
  }

  /** Position of a key, or of the mapping when the key is absent. */
  Location keyAt(String key) {
    NodeTuple t = entries.get(key);
    return t == null ? location() : at(t.getKeyNode());
  }

  /** Position of a key's value, or of the mapping when the key is absent. */
  Location valueAt(String key) {
    NodeTuple t = entries.get(key);
    return t == null ? location() : at(t.getValueNode());
  }

  /** Entries in document order: key, key node, value node. */
  List<Entry> entries() {
    List<Entry> out = new ArrayList<>();
    entries.forEach((k, t) -> out.add(new Entry(k, t.getKeyNode(), t.getValueNode())));
    return out;
  }

  record Entry(String key, Node keyNode, Node valueNode) {}

  Optional<String> string(String key) {
    return node(key).flatMap(n -> scalar(n, key, "a string"));
  }

  String requiredString(String key) {
    if (!has(key)) {
      problems.add(location(), "missing required key " + Messages.quote(key) + " in " + what);
      return null;
    }
    return string(key).orElse(null);
  }

  /** A YAML mapping of strings to strings (tags). */
  Map<String, String> stringMap(String key) {
    Map<String, String> out = new LinkedHashMap<>();
    node(key)
        .ifPresent(
            n -> {
              YamlMap m = of(file, n, Messages.quote(key), problems);
              for (Entry e : m.entries()) {
                m.scalar(e.valueNode(), key + "." + e.key(), "a string")
                    .ifPresent(v -> out.put(e.key(), v));
              }
            });
    return out;
  }

  /**
   * The text of a duration value: a string, or a plain number (so that {@code ttl: 0} reads as "0"
   * and {@code ttl: 30} can be reported as a duration without a unit).
   */
  Optional<String> durationText(String key) {
    return node(key)
        .flatMap(
            n ->
                n instanceof ScalarNode s && s.getTag().equals(Tag.INT)
                    ? Optional.of(s.getValue())
                    : scalar(n, key, "a duration"));
  }

  Optional<Long> integer(String key) {
    return node(key)
        .flatMap(
            n -> {
              if (n instanceof ScalarNode s && s.getTag().equals(Tag.INT)) {
                try {
                  return Optional.of(Long.parseLong(s.getValue().replace("_", "")));
                } catch (NumberFormatException e) {
                  if (!s.getValue().matches("[-+]?[0-9_]+")) {
                    problems.add(
                        at(n),
                        "expected a decimal integer for '"
                            + key
                            + "', found "
                            + Messages.quote(s.getValue()));
                    return Optional.empty();
                  }
                  problems.add(
                      at(n),
                      "integer "
                          + Messages.quote(s.getValue())
                          + " for '"
                          + key
                          + "' is out of range: expected at most "
                          + Long.MAX_VALUE);
                  return Optional.empty();
                }
              }
              problems.add(
                  at(n), "expected an integer for " + Messages.quote(key) + ", found " + kind(n));
              return Optional.empty();
            });
  }

  /** A number: a YAML integer or float. */
  Optional<Double> number(String key) {
    return node(key)
        .flatMap(
            n -> {
              if (n instanceof ScalarNode s
                  && (s.getTag().equals(Tag.INT) || s.getTag().equals(Tag.FLOAT))) {
                try {
                  double d = Double.parseDouble(s.getValue().replace("_", ""));
                  if (Double.isFinite(d)) {
                    return Optional.of(d);
                  }
                } catch (NumberFormatException e) {
                  // reported below
                }
              }
              problems.add(
                  at(n), "expected a number for " + Messages.quote(key) + ", found " + kind(n));
              return Optional.empty();
            });
  }

  Optional<Boolean> bool(String key) {
    return node(key)
        .flatMap(
            n -> {
              if (n instanceof ScalarNode s && s.getTag().equals(Tag.BOOL)) {
                return Optional.of(Boolean.parseBoolean(s.getValue().toLowerCase()));
              }
              problems.add(
                  at(n),
                  "expected true or false for " + Messages.quote(key) + ", found " + kind(n));
              return Optional.empty();
            });
  }

  /** Items of a sequence value, each with its node; reports a non-sequence. */
  List<Node> sequence(String key) {
    Optional<Node> n = node(key);
    if (n.isEmpty()) {
      return List.of();
    }
    if (n.get() instanceof SequenceNode seq) {
      return seq.getValue();
    }
    problems.add(
        at(n.get()), "expected a list for " + Messages.quote(key) + ", found " + kind(n.get()));
    return List.of();
  }

  /**
   * The text of a scalar node. Numbers and booleans are accepted as text only where a string is
   * expected and the YAML is plainly a string; otherwise a problem names what was found.
   */
  Optional<String> scalar(Node n, String key, String expected) {
    if (n instanceof ScalarNode s && s.getTag().equals(Tag.STR)) {
      if (!text(s, "'" + key + "'")) {
        return Optional.empty();
      }
      return Optional.of(s.getValue());
    }
    problems.add(
        at(n), "expected " + expected + " for " + Messages.quote(key) + ", found " + kind(n));
    return Optional.empty();
  }

  /**
   * Whether a string scalar is text: a double-quoted escape such as {@code "\\uD800"} can spell a
   * lone UTF-16 surrogate, which is no character and would be stored as '?'. Reports it if not.
   */
  private boolean text(ScalarNode s, String where) {
    String v = s.getValue();
    for (int i = 0; i < v.length(); i++) {
      char c = v.charAt(i);
      if (Character.isHighSurrogate(c)
          && i + 1 < v.length()
          && Character.isLowSurrogate(v.charAt(i + 1))) {
        i++;
      } else if (Character.isSurrogate(c)) {
        problems.add(
            at(s),
            String.format(
                "%s holds a lone surrogate \\u%04X (character %d), which is not text; expected"
                    + " UTF-8 text",
                where, (int) c, i + 1));
        return false;
      }
    }
    return true;
  }

  static boolean isNull(Node n) {
    return n instanceof ScalarNode s && s.getTag().equals(Tag.NULL);
  }

  static String kind(Node n) {
    if (n instanceof MappingNode) {
      return "a mapping";
    }
    if (n instanceof SequenceNode) {
      return "a list";
    }
    if (n instanceof ScalarNode s) {
      Tag tag = s.getTag();
      if (tag.equals(Tag.INT)) {
        return "the integer " + s.getValue();
      }
      if (tag.equals(Tag.FLOAT)) {
        return "the number " + s.getValue();
      }
      if (tag.equals(Tag.BOOL)) {
        return "the boolean " + s.getValue();
      }
      if (tag.equals(Tag.NULL)) {
        return "nothing";
      }
      return Messages.quote(s.getValue());
    }
    return "a " + n.getNodeId();
  }
}
