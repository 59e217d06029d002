package dev.quiver.registry.plan;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Locale;

/** Renders a plan for people (a diff with markers) and for machines (JSON). */
public final class PlanPrinter {
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private PlanPrinter() {}

  /**
   * A readable diff: {@code +} added, {@code ~} changed, {@code -} removed, with classification.
   */
  public static String human(Plan plan) {
    StringBuilder out = new StringBuilder();
    out.append("Plan for project '")
        .append(plan.project())
        .append("' against ")
        .append(
            plan.baseVersion() == 0
                ? "an empty registry"
                : "registry version " + plan.baseVersion())
        .append(":\n\n");
    if (plan.isEmpty()) {
      out.append("  No changes. The registry matches the repo.\n");
    }
    String currentObject = null;
    for (Change c : plan.changes()) {
      String object = c.kind() + " " + c.name();
      if (c.isObjectLevel()) {
        out.append("  ").append(marker(c)).append(' ').append(object);
        if (c.action() == Change.Action.NEW_VERSION) {
          out.append(": ").append(c.before()).append(" -> ").append(c.after());
        }
        out.append(tag(c)).append('\n');
        currentObject = object;
        continue;
      }
      if (!object.equals(currentObject)) {
        out.append("  ~ ").append(object).append('\n');
        currentObject = object;
      }
      out.append("      ").append(marker(c)).append(' ').append(c.field()).append(": ");
      if (c.before().isEmpty()) {
        out.append(quote(c.after()));
      } else if (c.after().isEmpty()) {
        out.append(quote(c.before()));
      } else {
        out.append(quote(c.before())).append(" -> ").append(quote(c.after()));
      }
      out.append(tag(c)).append('\n');
    }
    out.append('\n');
    out.append("Summary: ").append(plan.summary());
    long breaking = plan.count(Change.Severity.BREAKING);
    if (breaking > 0) {
      out.append("; ").append(breaking).append(" breaking");
    }
    out.append(".\n");
    if (!plan.canApply()) {
      out.append("\nThis plan cannot be applied:\n");
      for (Plan.Refusal r : plan.refusals()) {
        out.append("  ! ").append(r.kind()).append(' ').append(r.name());
        if (!r.location().isEmpty()) {
          out.append(" (").append(r.location()).append(')');
        }
        out.append(": ").append(r.reason()).append('\n');
      }
    }
    return out.toString();
  }

  /** The plan as JSON, for CI: changes, refusals, and whether it can be applied. */
  public static String json(Plan plan) {
    ObjectNode root = JSON.createObjectNode();
    root.put("project", plan.project());
    root.put("base_version", plan.baseVersion());
    root.put("can_apply", plan.canApply());
    root.put("summary", plan.summary());
    ArrayNode changes = root.putArray("changes");
    for (Change c : plan.changes()) {
      ObjectNode n = changes.addObject();
      n.put("kind", c.kind());
      n.put("name", c.name());
      n.put("action", c.action().name().toLowerCase(Locale.ROOT));
      if (!c.field().isEmpty()) {
        n.put("field", c.field());
      }
      n.put("before", c.before());
      n.put("after", c.after());
      n.put("severity", c.severity().name().toLowerCase(Locale.ROOT));
      if (!c.note().isEmpty()) {
        n.put("note", c.note());
      }
    }
    ArrayNode refusals = root.putArray("refusals");
    for (Plan.Refusal r : plan.refusals()) {
      ObjectNode n = refusals.addObject();
      n.put("kind", r.kind());
      n.put("name", r.name());
      n.put("reason", r.reason());
      if (!r.location().isEmpty()) {
        n.put("location", r.location());
      }
    }
    try {
      return JSON.writeValueAsString(root) + "\n";
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String marker(Change c) {
    return switch (c.action()) {
      case ADD -> "+";
      case REMOVE -> "-";
      default -> c.before().isEmpty() ? "+" : c.after().isEmpty() ? "-" : "~";
    };
  }

  private static String tag(Change c) {
    String s =
        switch (c.severity()) {
          case SAFE -> "safe";
          case BREAKING -> "BREAKING";
          case REMOVAL -> "removal";
        };
    return "   [" + s + (c.note().isEmpty() ? "" : "; " + c.note()) + "]";
  }

  private static String quote(String s) {
    return s.contains(" ") || s.isEmpty() ? '"' + s + '"' : s;
  }
}
