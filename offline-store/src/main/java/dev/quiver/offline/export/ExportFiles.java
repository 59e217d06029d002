package dev.quiver.offline.export;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The checks and words every export uses for the files it reads and writes: an error names the file
 * and says what is wrong with it in words ("permission denied", "no space left on device"), never
 * only a path or an exception's class.
 *
 * <p>Stateless and thread-safe.
 */
public final class ExportFiles {
  private ExportFiles() {}

  /**
   * Checks that an input file can be opened for reading.
   *
   * @throws IllegalArgumentException naming the file: missing, a directory, or unreadable
   */
  public static void checkReadable(Path file, String what) {
    if (!Files.exists(file)) {
      throw new IllegalArgumentException(file + ": no such file (the " + what + ")");
    }
    if (Files.isDirectory(file)) {
      throw new IllegalArgumentException(
          file + ": is a directory; the " + what + " must be a file");
    }
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException(
          file + ": not a regular file; the " + what + " must be a file");
    }
    if (!Files.isReadable(file)) {
      throw new IllegalArgumentException(file + ": permission denied (the " + what + ")");
    }
  }

  /**
   * Whether {@code out} names the same file as {@code in}, through symbolic links, relative paths
   * and {@code ..} alike. An output that does not exist yet is compared by the real path of its
   * directory.
   */
  public static boolean sameFile(Path in, Path out) {
    try {
      if (Files.exists(out) && Files.exists(in)) {
        return Files.isSameFile(in, out);
      }
      return real(in).equals(real(out));
    } catch (IOException e) {
      return real(in).equals(real(out));
    }
  }

  /** The absolute, normalised path with as much of it resolved through links as exists. */
  private static Path real(Path p) {
    Path abs = p.toAbsolutePath().normalize();
    Path existing = abs;
    Path rest = abs.getFileSystem().getPath("");
    while (existing != null && !Files.exists(existing)) {
      rest = existing.getFileName().resolve(rest);
      existing = existing.getParent();
    }
    if (existing == null) {
      return abs;
    }
    try {
      return existing.toRealPath().resolve(rest).normalize();
    } catch (IOException e) {
      return abs;
    }
  }

  /** What went wrong with a file, in words, from the exception the file system gave. */
  public static String reason(IOException e) {
    if (e instanceof NoSuchFileException n) {
      Path file = n.getFile() == null ? null : Path.of(n.getFile());
      if (file != null && file.getParent() != null && Files.isDirectory(file.getParent())) {
        return "the file system at " + file.getParent() + " does not allow creating " + file;
      }
      return "no such file or directory" + (n.getFile() == null ? "" : ": " + n.getFile());
    }
    if (e instanceof AccessDeniedException a) {
      return "permission denied" + (a.getFile() == null ? "" : ": " + a.getFile());
    }
    if (e instanceof FileAlreadyExistsException a) {
      return "a file of that name already exists" + (a.getFile() == null ? "" : ": " + a.getFile());
    }
    if (e instanceof NotDirectoryException n) {
      return "not a directory" + (n.getFile() == null ? "" : ": " + n.getFile());
    }
    if (e instanceof FileSystemException f && f.getReason() != null) {
      return lower(f.getReason()) + (f.getFile() == null ? "" : ": " + f.getFile());
    }
    if (e.getMessage() != null && !e.getMessage().isEmpty()) {
      return lower(e.getMessage());
    }
    return "an I/O error (" + e.getClass().getSimpleName() + ")";
  }

  /** An I/O failure writing {@code out}, as an exception whose message says so in words. */
  static IOException writeFailure(Path out, IOException e) {
    if (e instanceof OutputException) {
      return e;
    }
    return new OutputException(out + ": cannot write the training set: " + reason(e), e);
  }

  /** A failure writing the output, its message naming the file and the reason. */
  static final class OutputException extends IOException {
    OutputException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private static String lower(String s) {
    if (s.length() > 1
        && Character.isUpperCase(s.charAt(0))
        && Character.isLowerCase(s.charAt(1))) {
      return s.substring(0, 1).toLowerCase(Locale.ROOT) + s.substring(1);
    }
    return s;
  }
}
