# Model storage for the device agent (agent.py): the ert-upload / ert-chunk / ert-commit /
# ert-abort / ert-select / ert-list commands. Device-safe (MicroPython): no typing,
# dataclasses, os.path or f-strings.
#
# Invariant: an upload is written to NAME.ert.tmp, checked (length, CRC32, the model loads)
# and only then renamed over NAME.ert: a broken or corrupt transfer never touches the stored
# model.
#
# Interface with the agent (the "host" below). ModelStore(directory, host) only uses:
#   host.say(line)          write one reply line
#   host.load(path, name)   load a model file; on failure it raises and no model is loaded
#   host.model_path, host.model_name   the loaded model's file and name (read); after a
#                           commit renames the file the model was loaded from, the store
#                           sets host.model_path to the stored file
# commands() maps each command word to a method that takes the argument tokens and raises
# EdgeRTError for the agent to report as "e-[...]".
import binascii

from .errors import EdgeRTError

MAX_CHUNK = 1024        # payload bytes per ert-chunk


def clean(s):
    """s as one line that cannot close an "e-[...]" / "m-[...]" field."""
    return str(s).replace("[", "(").replace("]", ")").replace("\r", " ").replace("\n", " ")


def parse_int(s, base=10):
    try:
        return int(s, base)
    except (ValueError, TypeError):
        return None


def valid_name(name):
    if not name or len(name) > 64:
        return False
    for c in name:
        if not (c.isalpha() or c.isdigit() or c in "_-."):
            return False
    return name[0] != "."


def _remove(path):
    import os
    try:
        os.remove(path)
    except OSError:
        pass


class ModelStore:
    """Stored models (NAME.ert files in one directory) and the upload in progress."""

    def __init__(self, directory, host):
        self.dir = directory.rstrip("/") if directory else ""
        self._host = host
        self._up = None          # [name, size, crc_expected, received, crc_running, file]
        self._committed = None   # (name, crc): makes a retried ert-commit idempotent

    def commands(self):
        return {"ert-upload": self.upload, "ert-chunk": self.chunk, "ert-commit": self.commit,
                "ert-abort": self.abort, "ert-select": self.select, "ert-list": self.list_models}

    def path(self, name):
        return (self.dir + "/" if self.dir else "") + name + ".ert"

    def upload(self, args):
        host = self._host
        if len(args) < 2:
            raise EdgeRTError("usage: ert-upload NBYTES CRC32HEX [NAME]")
        size, crc = parse_int(args[0]), parse_int(args[1], 16)
        name = args[2] if len(args) > 2 else (host.model_name or "model")
        if size is None or size <= 0 or crc is None:
            raise EdgeRTError("ert-upload: bad size or CRC32 (hex) in %s" % clean(" ".join(args)))
        if not valid_name(name):
            raise EdgeRTError("ert-upload: bad model name %s (letters, digits, _ - . only)" % clean(name))
        self.abort(None)
        f = open(self.path(name) + ".tmp", "wb")
        self._up = [name, size, crc, 0, 0, f]
        self._committed = None
        host.say("m-ert-upload-[%s]-[%d]" % (name, size))

    def chunk(self, args):
        up = self._up
        if up is None:
            raise EdgeRTError("ert-chunk without ert-upload")
        if len(args) != 2:
            raise EdgeRTError("usage: ert-chunk OFFSET HEX")
        off = parse_int(args[0])
        if off is None:
            raise EdgeRTError("ert-chunk: bad offset %s" % clean(args[0][:12]))
        try:
            data = binascii.unhexlify(args[1])
        except Exception:
            raise EdgeRTError("ert-chunk: invalid hex")
        if len(data) > MAX_CHUNK:
            raise EdgeRTError("ert-chunk: %d bytes, at most %d" % (len(data), MAX_CHUNK))
        if off < up[3] and off + len(data) <= up[3]:
            self._host.say("m-ert-chunk-[%d]" % up[3])   # a resent chunk (host retry): already have it
            return
        if off != up[3]:
            raise EdgeRTError("ert-chunk at offset %d, expected %d" % (off, up[3]))
        if up[3] + len(data) > up[1]:
            raise EdgeRTError("ert-chunk: data past the announced %d bytes" % up[1])
        up[5].write(data)
        up[3] += len(data)
        up[4] = binascii.crc32(data, up[4])
        self._host.say("m-ert-chunk-[%d]" % up[3])

    def commit(self, args):
        host = self._host
        up, self._up = self._up, None
        if up is None:
            if self._committed is not None:   # retry of a commit whose reply was lost
                host.say("m-ert-stored-[%s]-[%08x]" % self._committed)
                return
            raise EdgeRTError("ert-commit without ert-upload")
        name, size, crc, got, run_crc, f = up
        f.close()
        tmp = self.path(name) + ".tmp"
        try:
            if got != size:
                raise EdgeRTError("Upload incomplete: %d of %d bytes; stored model unchanged" % (got, size))
            if (run_crc & 0xFFFFFFFF) != crc:
                raise EdgeRTError("CRC32 mismatch: got %08x, expected %08x; stored model unchanged" % (
                    run_crc & 0xFFFFFFFF, crc))
            old, old_name = host.model_path, host.model_name
            try:
                host.load(tmp, name)
            except Exception as e:
                if old:
                    host.load(old, old_name)
                raise EdgeRTError("Uploaded model does not load (%s); stored model unchanged" % clean(e))
        except Exception:
            _remove(tmp)
            raise
        dst = self.path(name)
        import os
        try:
            os.rename(tmp, dst)
        except OSError:     # some filesystems (FAT) do not rename over an existing file
            _remove(dst)
            os.rename(tmp, dst)
        host.model_path = dst
        self._committed = (name, crc)
        host.say("m-ert-stored-[%s]-[%08x]" % (name, crc))

    def abort(self, args):
        up, self._up = self._up, None
        if up is not None:
            try:
                up[5].close()
            except Exception:
                pass
            _remove(self.path(up[0]) + ".tmp")
        if args is not None:
            self._host.say("m-ert-aborted")

    def select(self, args):
        host = self._host
        if not args or not valid_name(args[0]):
            raise EdgeRTError("usage: ert-select NAME (a model stored by ert-upload)")
        path = self.path(args[0])
        old = host.model_path
        try:
            host.load(path, args[0])
        except EdgeRTError as e:
            if old and old != path:
                host.load(old)
            raise EdgeRTError("cannot select %s: %s" % (args[0], e))
        host.say("m-ert-selected-[%s]" % args[0])

    def list_models(self, args):
        import os
        current = self._host.model_name
        for f in sorted(os.listdir(self.dir or ".")):
            if f.endswith(".ert"):
                self._host.say("m-ert-stored-model-[%s]%s" % (f[:-4], "-[selected]" if f[:-4] == current else ""))
