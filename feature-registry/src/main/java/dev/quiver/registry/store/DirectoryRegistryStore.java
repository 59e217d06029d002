package dev.quiver.registry.store;

import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.proto.v1.RegistryVersion;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The embedded registry store: one file per version in a directory, {@code v000000000042.pb}, each
 * a serialized {@link RegistrySnapshot}.
 *
 * <p>Apply writes the snapshot to a temporary file, forces it to disk, then publishes it with a
 * hard link to the version's name. Creating a link fails if the name exists, so publishing is an
 * atomic compare-and-set on the version number, across threads and processes alike: of two applies
 * based on the same version exactly one wins. A crash before the link leaves only a temporary file,
 * which readers ignore; after it, the version is complete.
 *
 * <p>Thread-safe; several processes may share the directory.
 */
public final class DirectoryRegistryStore implements RegistryStore {
  private static final Pattern VERSION_FILE = Pattern.compile("v(\\d{12})\\.pb");
  private static final String TEMP_PREFIX = "tmp-";
  private static final Duration STALE_TEMP = Duration.ofHours(1);

  /** Points inside {@link #apply} where a test can inject a failure. */
  public enum Step {
    /** The temporary file is written and forced, not yet published. */
    AFTER_TEMP_WRITE,
    /** The version is published, the temporary file not yet removed. */
    AFTER_PUBLISH
  }

  /** Fault injection for tests: called at each {@link Step}; may throw to simulate a crash. */
  @FunctionalInterface
  public interface StepHook {
    void reached(Step step) throws IOException;
  }

  private final Path dir;
  private final StepHook hook;

  /** A store in {@code dir}, created if missing. */
  public DirectoryRegistryStore(Path dir) throws IOException {
    this(dir, step -> {});
  }

  /** A store that calls {@code hook} at each step of an apply, for fault-injection tests. */
  public DirectoryRegistryStore(Path dir, StepHook hook) throws IOException {
    this.dir = Objects.requireNonNull(dir, "dir");
    this.hook = Objects.requireNonNull(hook, "hook");
    Files.createDirectories(dir);
    removeStaleTemporaries();
  }

  public Path directory() {
    return dir;
  }

  @Override
  public long latestVersion() throws IOException {
    long latest = 0;
    for (long v : versions()) {
      latest = Math.max(latest, v);
    }
    return latest;
  }

  @Override
  public RegistrySnapshot get(long version) throws IOException {
    Path file = dir.resolve(fileName(version));
    try (InputStream in = Files.newInputStream(file)) {
      return RegistrySnapshot.parseFrom(in);
    } catch (NoSuchFileException e) {
      throw new VersionNotFoundException(version, latestVersion());
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      throw new IOException("registry version file " + file + " is corrupt: " + e.getMessage(), e);
    }
  }

  @Override
  public List<RegistryVersion> list() throws IOException {
    List<RegistryVersion> out = new ArrayList<>();
    for (long v : versions()) {
      RegistrySnapshot s = get(v);
      out.add(
          RegistryVersion.newBuilder()
              .setVersion(s.getVersion())
              .setAppliedAt(s.getAppliedAt())
              .setAppliedBy(s.getAppliedBy())
              .setSummary(s.getSummary())
              .build());
    }
    return out;
  }

  @Override
  public RegistrySnapshot apply(long baseVersion, RegistrySnapshot next)
      throws IOException, RegistryConflictException {
    long latest = latestVersion();
    if (latest != baseVersion) {
      throw new RegistryConflictException(baseVersion, latest);
    }
    RegistrySnapshot stored = next.toBuilder().setVersion(baseVersion + 1).build();
    Path temp = dir.resolve(TEMP_PREFIX + UUID.randomUUID() + ".pb");
    try {
      try (FileChannel ch =
              FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
          OutputStream out = java.nio.channels.Channels.newOutputStream(ch)) {
        stored.writeTo(out);
        out.flush();
        ch.force(true);
      }
      hook.reached(Step.AFTER_TEMP_WRITE);
      Path target = dir.resolve(fileName(stored.getVersion()));
      try {
        Files.createLink(target, temp);
      } catch (FileAlreadyExistsException e) {
        throw new RegistryConflictException(baseVersion, latestVersion());
      }
      forceDirectory();
      hook.reached(Step.AFTER_PUBLISH);
    } finally {
      Files.deleteIfExists(temp);
    }
    return stored;
  }

  private List<Long> versions() throws IOException {
    List<Long> out = new ArrayList<>();
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "v*.pb")) {
      for (Path f : files) {
        Matcher m = VERSION_FILE.matcher(f.getFileName().toString());
        if (m.matches()) {
          out.add(Long.parseLong(m.group(1)));
        }
      }
    }
    out.sort(null);
    return out;
  }

  private static String fileName(long version) {
    return String.format("v%012d.pb", version);
  }

  private void forceDirectory() {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException e) {
      // Not every platform can open a directory; the link itself is already atomic.
    }
  }

  private void removeStaleTemporaries() throws IOException {
    Instant cutoff = Instant.now().minus(STALE_TEMP);
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, TEMP_PREFIX + "*")) {
      for (Path f : files) {
        try {
          if (Files.getLastModifiedTime(f).toInstant().isBefore(cutoff)) {
            Files.deleteIfExists(f);
          }
        } catch (java.nio.file.NoSuchFileException gone) {
          // Another process's apply finished with it between the listing and now.
        }
      }
    }
  }
}
