"""The ONNX Runtime adapter: the one module that imports onnxruntime.

Why it exists: loading an ONNX model costs hundreds of milliseconds and tens of megabytes, so a
process must build each session once and share it between invocations and threads. Provider and
thread choices are made here, from the machine and from settings, so that model code never has
to know whether it runs on TensorRT, CUDA or a two-core CPU consumption-plan worker.
onnxruntime itself is imported lazily (`_onnxruntime()`), so code that only needs
`InferenceSessionPort` stays cheap to import.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    import onnxruntime as ort

log = logging.getLogger(__name__)

TENSORRT = "TensorrtExecutionProvider"
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"

#: Providers in the order we prefer them when no setting says otherwise.
PREFERRED_PROVIDERS: tuple[str, ...] = (TENSORRT, CUDA, CPU)

PROVIDERS_ENV = "BATCHINFER_ONNX_PROVIDERS"
THREADS_ENV = "BATCHINFER_ONNX_THREADS"
SPINNING_ENV = "BATCHINFER_ONNX_SPINNING"


def _onnxruntime() -> Any:
    """The onnxruntime module, imported on first use (it loads a large native library)."""
    import onnxruntime

    return onnxruntime


@runtime_checkable
class InferenceSessionPort(Protocol):
    """What model code needs from a loaded model, without importing onnxruntime."""

    @property
    def input_names(self) -> tuple[str, ...]: ...

    @property
    def provider(self) -> str: ...

    @property
    def metadata(self) -> Mapping[str, str]: ...

    def run(self, inputs: Mapping[str, np.ndarray]) -> list[np.ndarray]: ...


class SessionSource(Protocol):
    """Where model code gets sessions from: `SessionCache`, or a fake in tests."""

    def get(
        self,
        model_path: str | os.PathLike[str],
        providers: Sequence[str] | None = None,
        *,
        simplify: bool = False,
    ) -> InferenceSessionPort: ...


@dataclass(frozen=True)
class RuntimeSettings:
    """Process-wide runtime choices, read from the environment so ops can change them per app."""

    providers: tuple[str, ...] | None = None  # None: pick from what onnxruntime offers
    intra_op_threads: int = 0  # 0: size to the machine
    # Idle intra-op threads busy-wait for the next task when True (ONNX Runtime's default).
    # Off by default: activities run models concurrently and hosts are shared, and spinning
    # threads then burn the time slices the working ones need (layout on a loaded 2-core
    # machine ran 2-3x faster without it, bench/layout_speed.py).
    spinning: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RuntimeSettings:
        env = os.environ if environ is None else environ
        raw_providers = env.get(PROVIDERS_ENV, "").strip()
        providers = tuple(p.strip() for p in raw_providers.split(",") if p.strip()) or None
        threads = 0
        raw_threads = env.get(THREADS_ENV, "").strip()
        if raw_threads:
            try:
                threads = max(0, int(raw_threads))
            except ValueError:
                log.warning("ignoring %s=%r: not an integer", THREADS_ENV, raw_threads)
        spinning = env.get(SPINNING_ENV, "").strip().lower() in ("1", "true", "yes")
        return cls(providers=providers, intra_op_threads=threads, spinning=spinning)


def available_providers() -> list[str]:
    """Providers compiled into the installed onnxruntime build (not a promise a device exists)."""
    return list(_onnxruntime().get_available_providers())


def select_providers(
    requested: Sequence[str] | None = None, available: Sequence[str] | None = None
) -> tuple[str, ...]:
    """Order the providers to try: the requested ones (or our preference) that this build has.

    Unknown or unavailable names are dropped with a warning rather than failing, because a setting
    copied from a GPU deployment must still work on a CPU worker. CPU is always last.
    """
    have = list(available) if available is not None else available_providers()
    wanted = list(requested) if requested else list(PREFERRED_PROVIDERS)
    chosen: list[str] = []
    for name in wanted:
        if name == CPU or name in chosen:
            continue
        if name not in have:
            if requested:
                log.warning("ONNX provider %s is not available here (have %s); ignored", name, have)
            continue
        chosen.append(name)
    chosen.append(CPU)
    return tuple(chosen)


def machine_threads() -> int:
    """CPU cores this process may use: the affinity mask when the OS tells us, else cpu_count.

    Containers and Functions workers often pin a process to fewer cores than the host has, and
    oversubscribing intra-op threads is the most common way to make ONNX Runtime slow.
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def session_options(settings: RuntimeSettings) -> ort.SessionOptions:
    """Options for one session: all graph optimisations, intra-op sized to the machine, inter 1,
    idle threads sleeping rather than spinning unless `settings.spinning`."""
    ort = _onnxruntime()
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.intra_op_num_threads = settings.intra_op_threads or machine_threads()
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3  # errors only: provider fallbacks are logged by us
    spin = "1" if settings.spinning else "0"
    opts.add_session_config_entry("session.intra_op.allow_spinning", spin)
    opts.add_session_config_entry("session.inter_op.allow_spinning", spin)
    return opts


class OnnxSession:
    """A loaded model: wraps one `onnxruntime.InferenceSession` behind `InferenceSessionPort`."""

    def __init__(self, raw: Any, path: Path) -> None:
        self.raw = raw
        self.path = path
        self._inputs = tuple(i.name for i in raw.get_inputs())
        self._metadata = dict(raw.get_modelmeta().custom_metadata_map)

    @property
    def input_names(self) -> tuple[str, ...]:
        return self._inputs

    @property
    def provider(self) -> str:
        """The provider the session actually runs on (onnxruntime may have fallen back)."""
        return str(self.raw.get_providers()[0])

    @property
    def metadata(self) -> Mapping[str, str]:
        return self._metadata

    def get_providers(self) -> list[str]:
        return list(self.raw.get_providers())

    def run(self, inputs: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        """Run the whole graph; thread-safe (onnxruntime allows concurrent `run` on a session)."""
        return list(self.raw.run(None, dict(inputs)))

    def __repr__(self) -> str:
        return f"OnnxSession({self.path.name!r}, provider={self.provider!r})"


#: Builds a raw session from a model file path, or from serialized model bytes (simplified).
SessionFactory = Callable[[str | bytes, "ort.SessionOptions", Sequence[str]], Any]


def _ort_session(model: str | bytes, options: ort.SessionOptions, providers: Sequence[str]) -> Any:
    return _onnxruntime().InferenceSession(model, sess_options=options, providers=list(providers))


def _simplified(path: Path) -> str | bytes:
    """The model with `graph_rewrite`'s exact simplifications, or its path when none applies
    (or the rewrite fails: a model we cannot simplify must still load as it is)."""
    try:
        from batchinfer.inference.graph_rewrite import simplified_bytes

        data, counts = simplified_bytes(path.read_bytes())
    except Exception as exc:  # an unusual graph: run it unmodified
        log.warning("cannot simplify %s (%s); loading it unmodified", path.name, exc)
        return str(path)
    if not any(count for name, count in counts.items() if name != "constants"):
        return str(path)
    log.info("simplified %s: %s", path.name, counts)
    return data


class SessionCache:
    """One session per (model file, providers) per process; safe to share between threads.

    Building a session takes a per-key lock, so two threads asking for the same model wait for
    one load instead of loading it twice, while other models load in parallel.
    """

    def __init__(
        self,
        settings: RuntimeSettings | None = None,
        factory: SessionFactory = _ort_session,
    ) -> None:
        self._settings = settings
        self._factory = factory
        self._sessions: dict[tuple[str, tuple[str, ...], bool], OnnxSession] = {}
        self._key_locks: dict[tuple[str, tuple[str, ...], bool], threading.Lock] = {}
        self._lock = threading.Lock()

    @property
    def settings(self) -> RuntimeSettings:
        """Settings given at construction, else read from the environment at each call."""
        return self._settings if self._settings is not None else RuntimeSettings.from_env()

    def get(
        self,
        model_path: str | os.PathLike[str],
        providers: Sequence[str] | None = None,
        *,
        simplify: bool = False,
    ) -> OnnxSession:
        """The session for a model file, built on first use with the selected providers.

        `simplify`: run the graph after `graph_rewrite`'s exact algebraic simplifications
        (worth it for graphs exported with unfused activations, such as PP-OCR's); opt-in,
        because it changes results by float rounding.
        """
        settings = self.settings
        chosen = tuple(providers) if providers else select_providers(settings.providers)
        path = Path(model_path).resolve()
        key = (str(path), chosen, simplify)
        with self._lock:
            session = self._sessions.get(key)
            if session is not None:
                return session
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                session = self._sessions.get(key)
            if session is None:
                session = self._build(path, chosen, settings, simplify)
                with self._lock:
                    self._sessions[key] = session
            return session

    def _build(
        self, path: Path, providers: tuple[str, ...], settings: RuntimeSettings, simplify: bool
    ) -> OnnxSession:
        if not path.is_file():
            raise FileNotFoundError(f"ONNX model file not found: {path}")
        options = session_options(settings)
        model = _simplified(path) if simplify else str(path)
        try:
            raw = self._factory(model, options, providers)
        except Exception as exc:  # a GPU provider that is compiled in but cannot start
            if providers == (CPU,):
                raise
            log.warning(
                "cannot start %s on %s (%s); falling back to CPU", path.name, providers, exc
            )
            raw = self._factory(model, session_options(settings), (CPU,))
        session = OnnxSession(raw, path)
        log.info("loaded %s on %s", path.name, session.provider)
        return session

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)

    def loaded(self) -> dict[str, str]:
        """Model file name → the provider its session actually runs on (for health checks)."""
        with self._lock:
            return {Path(key[0]).name: session.provider for key, session in self._sessions.items()}

    def clear(self) -> None:
        """Drop every session (tests, or to free memory after a model is retired)."""
        with self._lock:
            self._sessions.clear()
            self._key_locks.clear()


#: The process-wide cache. This is the one piece of module-level mutable state allowed: sessions
#: must outlive a single Functions invocation, and a worker process is the natural scope.
DEFAULT_SESSION_CACHE = SessionCache()


def default_session_cache() -> SessionCache:
    """The process-wide session cache (see `DEFAULT_SESSION_CACHE`)."""
    return DEFAULT_SESSION_CACHE
