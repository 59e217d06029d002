package dev.quiver.registry.rows;

import java.util.Objects;

/** A partition of a source's topic. */
public record SourcePartition(String topic, int partition) {
  public SourcePartition {
    Objects.requireNonNull(topic, "topic");
  }

  @Override
  public String toString() {
    return topic + "-" + partition;
  }
}
