package dev.quiver.registry.load;

import dev.quiver.registry.Diagnostic;
import dev.quiver.registry.Location;
import java.util.ArrayList;
import java.util.List;

/** Collects every diagnostic of one load; loading goes on after each so all are reported. */
final class Problems {
  private final List<Diagnostic> list = new ArrayList<>();

  void add(Location at, String message) {
    list.add(at.error(message));
  }

  void add(Diagnostic d) {
    list.add(d);
  }

  int size() {
    return list.size();
  }

  boolean isEmpty() {
    return list.isEmpty();
  }

  List<Diagnostic> all() {
    return list.stream().distinct().sorted(Diagnostic.ORDER).toList();
  }
}
