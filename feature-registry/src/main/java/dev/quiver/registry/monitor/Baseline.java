package dev.quiver.registry.monitor;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a feature service's training set looked like: a {@link FeatureProfile} per feature column,
 * with the export's row count and the range of its entity-table times. Recorded when an export
 * writes a training set for a service; live profiles of what is served are compared with it.
 *
 * @param service the feature service
 * @param rows entity rows exported
 * @param from the earliest entity-table time, or null when no row had one
 * @param to the latest entity-table time, or null
 * @param features profile per output column ({@code view__feature}), in column order
 */
public record Baseline(
    String service, long rows, Instant from, Instant to, Map<String, FeatureProfile> features) {
  private static final int MAGIC = 0x51424c31; // "QBL1"

  public Baseline {
    features = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(features));
  }

  /** Where a named baseline of a service lives under a data directory. */
  public static Path path(Path dataDir, String project, String service, String name) {
    return dataDir
        .resolve("monitoring")
        .resolve(project)
        .resolve("baselines")
        .resolve(service)
        .resolve(name + ".baseline");
  }

  /** Writes the baseline to {@code file}, under a temporary name renamed when complete. */
  public void write(Path file) throws IOException {
    Files.createDirectories(file.getParent());
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    try (OutputStream os = Files.newOutputStream(tmp);
        DataOutputStream out = new DataOutputStream(new java.io.BufferedOutputStream(os))) {
      out.writeInt(MAGIC);
      out.writeUTF(service);
      out.writeLong(rows);
      out.writeLong(from == null ? Long.MIN_VALUE : dev.quiver.registry.semantics.Micros.of(from));
      out.writeLong(to == null ? Long.MIN_VALUE : dev.quiver.registry.semantics.Micros.of(to));
      out.writeInt(features.size());
      for (Map.Entry<String, FeatureProfile> f : features.entrySet()) {
        out.writeUTF(f.getKey());
        byte[] b = f.getValue().toBytes();
        out.writeInt(b.length);
        out.write(b);
      }
    }
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  public static Baseline read(Path file) throws IOException {
    try (InputStream is = Files.newInputStream(file);
        DataInputStream in = new DataInputStream(new java.io.BufferedInputStream(is))) {
      if (in.readInt() != MAGIC) {
        throw new IOException(file + " is not a Quiver baseline");
      }
      String service = in.readUTF();
      long rows = in.readLong();
      long from = in.readLong();
      long to = in.readLong();
      int n = in.readInt();
      Map<String, FeatureProfile> features = new LinkedHashMap<>();
      for (int i = 0; i < n; i++) {
        String name = in.readUTF();
        byte[] b = new byte[in.readInt()];
        in.readFully(b);
        features.put(name, FeatureProfile.fromBytes(b));
      }
      return new Baseline(
          service,
          rows,
          from == Long.MIN_VALUE ? null : dev.quiver.registry.semantics.Micros.toInstant(from),
          to == Long.MIN_VALUE ? null : dev.quiver.registry.semantics.Micros.toInstant(to),
          features);
    }
  }
}
