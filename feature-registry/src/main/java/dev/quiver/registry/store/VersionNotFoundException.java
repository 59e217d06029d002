package dev.quiver.registry.store;

import java.io.IOException;

/** A registry version that was never applied was asked for. */
public final class VersionNotFoundException extends IOException {
  public VersionNotFoundException(long version, long latest) {
    super(
        "registry version "
            + version
            + " does not exist; "
            + (latest == 0 ? "nothing has been applied yet" : "versions are 1 to " + latest));
  }
}
