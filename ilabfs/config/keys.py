"""Every section and key of the config file, with its type, default and description.

Version 1 is the format that InstructLab 0.18 to 0.26 write, with
``version: 1.0.0``. Version 2 adds the
``storage`` section and the phased training data keys, and lets the MODEL
and DATASET keys name a store ref instead of a path. ``{data}`` and
``{cache}`` in a default stand for the platform data and cache folders of
the application ``instructlab``.
"""

from __future__ import annotations

from .schema import (
    BOOLEAN,
    DATASET,
    FLOAT,
    INTEGER,
    LOG_FORMAT,
    MAPPING,
    MODEL,
    MODEL_LIST,
    NON_NEGATIVE,
    PATH,
    PORT,
    POSITIVE,
    POSITIVE_OR_AUTO,
    STRING,
    STRING_LIST,
    Key,
    Section,
    ValueType,
    choice,
    comma_list,
    optional,
)

CURRENT_VERSION = 2

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "WARN", "ERROR", "CRITICAL", "FATAL", "NOTSET")
VERSION_TYPE = ValueType(
    "version", "a whole number such as 2, or a version string such as 1.0.0", lambda value: value is not None
)


def _serving_entries(prefix: str, what: str, model_default: str) -> list[Key | Section]:
    """Return the keys shared by ``serve`` and ``generate.teacher``, which InstructLab declares with one model."""
    return [
        Key(f"{prefix}.backend", optional(choice("vllm", "llama-cpp")), None, f"Backend that serves the {what}; empty picks one from the model format."),
        Key(f"{prefix}.chat_template", optional(STRING), None, "Chat template: auto, tokenizer, or the path of a Jinja2 template file.",
            role=PATH, keywords=("auto", "tokenizer")),
        Section(f"{prefix}.llama_cpp", "Settings of the llama-cpp backend."),
        Key(f"{prefix}.llama_cpp.gpu_layers", INTEGER, -1, "Number of model layers to put on the GPU; -1 puts all of them there."),
        Key(f"{prefix}.llama_cpp.llm_family", STRING, "", "Model family, such as granite or mixtral; empty guesses it from the model."),
        Key(f"{prefix}.llama_cpp.max_ctx_size", POSITIVE, 4096, "Maximum context size in tokens."),
        Key(f"{prefix}.model_path", STRING, model_default, f"The {what}: a path, or a ref to a model in the store.", role=MODEL),
        Section(f"{prefix}.server", "Address of the server."),
        Key(f"{prefix}.server.backend_type", STRING, "", "Backend type of the server, such as llama-cpp or vllm."),
        Key(f"{prefix}.server.current_max_ctx_size", POSITIVE, 4096, "Maximum context size in tokens of the model being served."),
        Key(f"{prefix}.server.host", STRING, "127.0.0.1", "Host name or IP address to listen on."),
        Key(f"{prefix}.server.port", PORT, 8000, "TCP port to listen on."),
        Section(f"{prefix}.vllm", "Settings of the vLLM backend."),
        Key(f"{prefix}.vllm.gpus", optional(NON_NEGATIVE), None, "Number of GPUs to use."),
        Key(f"{prefix}.vllm.llm_family", STRING, "", "Model family, such as granite or mixtral; empty guesses it from the model."),
        Key(f"{prefix}.vllm.max_startup_attempts", optional(POSITIVE), 120, "Maximum number of attempts to start the vLLM server."),
        Key(f"{prefix}.vllm.vllm_args", optional(STRING_LIST), [], "Extra command-line arguments for vLLM, such as ['--dtype', 'auto']."),
    ]


ENTRIES: list[Key | Section] = [
    Section("chat", "Settings of ilab model chat."),
    Key("chat.context", choice("default", "cli_helper"), "default", "Prompt context of the assistant: default, or cli_helper for help with command lines."),
    Key("chat.logs_dir", STRING, "{data}/chatlogs", "Folder for chat logs.", role=PATH),
    Key("chat.max_tokens", optional(POSITIVE), None, "Maximum number of tokens generated in one answer; larger values use more memory."),
    Key("chat.model", STRING, "{cache}/models/granite-7b-lab-Q4_K_M.gguf", "Model to chat with: a path, or a ref to a model in the store.", role=MODEL),
    Key("chat.session", optional(STRING), None, "File of a chat session to load at start.", role=PATH),
    Key("chat.temperature", FLOAT, 1.0, "Sampling temperature; lower values make answers more predictable."),
    Key("chat.vi_mode", BOOLEAN, False, "Use vi key bindings in the chat prompt."),
    Key("chat.visible_overflow", BOOLEAN, True, "Show answers taller than the terminal in full instead of cutting them with an ellipsis."),

    Section("evaluate", "Settings of ilab model evaluate."),
    Key("evaluate.base_branch", optional(STRING), None, "Taxonomy branch to compare against."),
    Key("evaluate.base_model", STRING, "instructlab/granite-7b-lab", "Model to compare against in mt_bench_branch and mmlu_branch."),
    Key("evaluate.branch", optional(STRING), None, "Taxonomy branch with the skills and knowledge to evaluate."),
    Section("evaluate.dk_bench", "Settings of DK-Bench, which scores answers to your own questions."),
    Key("evaluate.dk_bench.input_questions", optional(STRING), None, "JSON Lines file of questions, with the fields user_input and reference.", role=PATH),
    Key("evaluate.dk_bench.judge_model", STRING, "gpt-4o", "Model that judges the answers."),
    Key("evaluate.dk_bench.output_dir", STRING, "{data}/internal/eval_data/dk_bench", "Folder for DK-Bench results.", role=PATH),
    Key("evaluate.dk_bench.output_file_formats", comma_list("csv", "jsonl", "xlsx"), "jsonl", "Formats of the result files, comma-separated: csv, jsonl, xlsx."),
    Key("evaluate.gpus", optional(NON_NEGATIVE), None, "Number of GPUs for evaluation."),
    Section("evaluate.mmlu", "Settings of the MMLU benchmark."),
    Key("evaluate.mmlu.batch_size", POSITIVE_OR_AUTO, "auto", "Batch size, or auto for the largest that fits in memory."),
    Key("evaluate.mmlu.few_shots", NON_NEGATIVE, 5, "Number of question and answer pairs put before each question."),
    Section("evaluate.mmlu_branch", "Settings of MMLU on a taxonomy branch."),
    Key("evaluate.mmlu_branch.tasks_dir", STRING, "{data}/datasets", "Folder of the custom MMLU tasks.", role=PATH),
    Key("evaluate.model", optional(STRING), None, "Model to evaluate."),
    Section("evaluate.mt_bench", "Settings of the multi-turn MT-Bench benchmark."),
    Key("evaluate.mt_bench.judge_model", STRING, "prometheus-eval/prometheus-8x7b-v2.0", "Model that judges the answers."),
    Key("evaluate.mt_bench.max_workers", POSITIVE_OR_AUTO, "auto", "Number of parallel workers, or auto."),
    Key("evaluate.mt_bench.output_dir", STRING, "{data}/internal/eval_data/mt_bench", "Folder for MT-Bench results.", role=PATH),
    Section("evaluate.mt_bench_branch", "Settings of MT-Bench on a taxonomy branch."),
    Key("evaluate.mt_bench_branch.judge_model", STRING, "prometheus-eval/prometheus-8x7b-v2.0", "Model that judges the answers."),
    Key("evaluate.mt_bench_branch.output_dir", STRING, "{data}/internal/eval_data/mt_bench_branch", "Folder for MT-Bench-Branch results.", role=PATH),
    Key("evaluate.mt_bench_branch.taxonomy_path", STRING, "{data}/taxonomy", "Folder of the taxonomy.", role=PATH),
    Key("evaluate.system_prompt", optional(STRING), None, "System prompt for the model that answers DK-Bench questions."),
    Key("evaluate.temperature", FLOAT, 0.0, "Sampling temperature of the model that answers DK-Bench questions."),

    Section("general", "Settings that apply to every command."),
    Key("general.debug_level", NON_NEGATIVE, 0, "Debug verbosity; 1 or more logs more at the DEBUG log level."),
    Key("general.log_format", LOG_FORMAT, "%(levelname)s %(asctime)s %(name)s:%(lineno)d: %(message)s", "Format of log lines, in Python logging's %-style."),
    Key("general.log_level", choice(*LOG_LEVELS, ignore_case=True), "INFO", "Log level."),
    Key("general.student_model_id", optional(STRING), None, "Id, from the models list, of the student model to train."),
    Key("general.teacher_model_id", optional(STRING), None, "Id, from the models list, of the teacher model that generates data."),
    Key("general.use_legacy_tmpl", BOOLEAN, False, "Use the legacy IBM Granite chat template instead of the Granite 3.0 one."),

    Section("generate", "Settings of ilab data generate."),
    Key("generate.batch_size", POSITIVE, 8, "Number of batches sent for generation on each core."),
    Key("generate.chunk_word_count", POSITIVE, 1000, "Maximum number of words in one chunk of a knowledge document."),
    Key("generate.max_num_tokens", optional(POSITIVE), 4096, "Maximum number of tokens generated per sample of knowledge data; fewer is faster."),
    Key("generate.model", STRING, "{cache}/models/mistral-7b-instruct-v0.2.Q4_K_M.gguf",
        "Teacher model, as an older setting: a path, or a ref to a model in the store.", role=MODEL),
    Key("generate.num_cpus", POSITIVE, 10, "Number of CPU cores for generation."),
    Key("generate.num_instructions", optional(INTEGER), -1, "Deprecated: use sdg_scale_factor. Number of instructions to generate."),
    Key("generate.output_dir", STRING, "{data}/datasets", "Folder for generated datasets.", role=PATH),
    Key("generate.pipeline", optional(STRING), "full", "Generation pipeline: simple, full, or the path of a folder of pipeline YAML files.",
        role=PATH, keywords=("simple", "full")),
    Key("generate.sdg_scale_factor", optional(POSITIVE), 30, "Number of instructions to generate."),
    Key("generate.taxonomy_base", STRING, "origin/main", "Git branch of the taxonomy to compute changes against."),
    Key("generate.taxonomy_path", STRING, "{data}/taxonomy", "Folder of the taxonomy.", role=PATH),
    Section("generate.teacher", "Serving settings of the teacher model."),
    *_serving_entries("generate.teacher", "teacher model", "{cache}/models/mistral-7b-instruct-v0.2.Q4_K_M.gguf"),

    Section("metadata", "Facts about the machine this config was made for."),
    Key("metadata.cpu_info", optional(STRING), None, "CPU maker, family and model, such as Apple M3 Max."),
    Key("metadata.gpu_count", optional(NON_NEGATIVE), None, "Number of GPUs, such as 8."),
    Key("metadata.gpu_family", optional(STRING), None, "GPU family, such as H100."),
    Key("metadata.gpu_manufacturer", optional(STRING), None, "GPU maker, such as Nvidia."),
    Key("metadata.gpu_sku", optional(STRING_LIST), None, "GPU variants, such as [PCIe, NVL]."),

    Key("models", MODEL_LIST, [], "Your own models, each with an id, a family, a path and an optional system_prompt."),

    Section("rag", "Settings of retrieval-augmented generation."),
    Section("rag.convert", "Settings of document conversion."),
    Key("rag.convert.output_dir", STRING, "{data}/converted_documents", "Folder for converted documents.", role=PATH),
    Key("rag.convert.taxonomy_base", STRING, "origin/main", "Git branch of the taxonomy to compute changes against."),
    Key("rag.convert.taxonomy_path", STRING, "{data}/taxonomy", "Folder of the taxonomy.", role=PATH),
    Section("rag.document_store", "Where retrieved documents are stored."),
    Key("rag.document_store.collection_name", STRING, "ilab", "Name of the collection in the document store."),
    Key("rag.document_store.uri", STRING, "{data}/embeddings.db", "Document store: a file path or a service URI.", role=PATH),
    Section("rag.embedding_model", "Embedding model of retrieval."),
    Key("rag.embedding_model.embedding_model_path", STRING, "{cache}/models/ibm-granite/granite-embedding-125m-english",
        "Folder of the embedding model.", role=PATH),
    Key("rag.enabled", BOOLEAN, False, "Turn retrieval-augmented generation on."),
    Section("rag.retriever", "Settings of retrieval."),
    Key("rag.retriever.top_k", POSITIVE, 3, "Maximum number of documents retrieved."),

    Section("serve", "Settings of ilab model serve."),
    *_serving_entries("serve", "model to serve", "{cache}/models/granite-7b-lab-Q4_K_M.gguf"),

    Section("storage", "Settings of the ilabfs store.", since=2),
    Key("storage.root", optional(STRING), "{data}/store", "Folder of the store; empty means <data dir>/store. ILABFS_STORE and --store override it.",
        since=2, role=PATH),

    Section("train", "Settings of ilab model train."),
    Key("train.additional_args", MAPPING, {}, "Extra settings passed to the training library as names and values."),
    Key("train.checkpoint_at_epoch", BOOLEAN, True, "Save a checkpoint at the end of every epoch."),
    Key("train.ckpt_output_dir", STRING, "{data}/checkpoints", "Folder for training checkpoints.", role=PATH),
    Key("train.data_output_dir", STRING, "{data}/internal", "Folder for the processed training data.", role=PATH),
    Key("train.data_path", STRING, "{data}/datasets", "Training data: a file or folder path, or a ref to a dataset in the store.", role=DATASET),
    Key("train.deepspeed_cpu_offload_optimizer", BOOLEAN, False, "Let DeepSpeed move optimizer state to the CPU."),
    Key("train.device", choice("cpu", "mps", "cuda", "hpu"), "cpu", "PyTorch device: cpu, mps (Apple Metal), cuda (NVIDIA and AMD ROCm) or hpu (Intel Gaudi)."),
    Key("train.disable_flash_attn", optional(BOOLEAN), False, "Train without flash attention, for older GPUs."),
    Key("train.distributed_backend", choice("fsdp", "deepspeed"), "fsdp", "Framework for training on several GPUs."),
    Key("train.effective_batch_size", POSITIVE, 64, "Number of samples seen before each update of the weights."),
    Key("train.fsdp_cpu_offload_optimizer", BOOLEAN, False, "Let FSDP move optimizer state to the CPU."),
    Key("train.is_padding_free", BOOLEAN, False, "The model is a padding-free transformer, such as Granite."),
    Key("train.lora_quantize_dtype", optional(choice("nf4")), "nf4", "Quantization data type of LoRA training: nf4, or empty for none."),
    Key("train.lora_rank", optional(NON_NEGATIVE), 0, "Rank of the low-rank matrices of LoRA training."),
    Key("train.max_batch_len", POSITIVE, 5000, "Maximum tokens per GPU in one step; lower it after out-of-memory errors, but not below max_seq_len."),
    Key("train.max_seq_len", POSITIVE, 4096, "Maximum length of a sample in tokens; longer samples are dropped."),
    Key("train.model_path", STRING, "instructlab/granite-7b-lab",
        "Student model: a path, a Hugging Face repo id, or a ref to a model in the store.", role=MODEL, hub=True),
    Key("train.nproc_per_node", POSITIVE, 1, "Number of GPUs for training."),
    Key("train.num_epochs", POSITIVE, 10, "Number of epochs."),
    Key("train.phased_base_dir", optional(STRING), "{data}/phased", "Folder for the outputs of phased training.", role=PATH),
    Key("train.phased_mt_bench_judge", optional(STRING), "{cache}/models/prometheus-eval/prometheus-8x7b-v2.0",
        "Judge model of the MT-Bench runs in phased training.", role=PATH),
    Key("train.phased_phase1_data", optional(STRING), None, "Knowledge data of phase 1: a path, or a ref to a dataset in the store.",
        since=2, role=DATASET),
    Key("train.phased_phase1_effective_batch_size", optional(POSITIVE), 128, "Effective batch size of phase 1."),
    Key("train.phased_phase1_learning_rate", FLOAT, 2e-05, "Learning rate of phase 1, knowledge training."),
    Key("train.phased_phase1_num_epochs", optional(POSITIVE), 7, "Number of epochs of phase 1."),
    Key("train.phased_phase1_samples_per_save", NON_NEGATIVE, 0, "Samples between checkpoints in phase 1; 0 turns them off."),
    Key("train.phased_phase2_data", optional(STRING), None, "Skills data of phase 2: a path, or a ref to a dataset in the store.",
        since=2, role=DATASET),
    Key("train.phased_phase2_effective_batch_size", optional(POSITIVE), 3840, "Effective batch size of phase 2."),
    Key("train.phased_phase2_learning_rate", FLOAT, 6e-06, "Learning rate of phase 2, skills training."),
    Key("train.phased_phase2_num_epochs", optional(POSITIVE), 10, "Number of epochs of phase 2."),
    Key("train.phased_phase2_samples_per_save", NON_NEGATIVE, 0, "Samples between checkpoints in phase 2; 0 turns them off."),
    Key("train.pipeline", choice("simple", "full", "accelerated"), "full",
        "Training pipeline: simple for small machines, full for 64 GB of memory, accelerated for GPUs."),
    Key("train.save_samples", NON_NEGATIVE, 250000, "Number of samples seen between two checkpoints."),
    Key("train.training_journal", optional(STRING), None, "YAML file that records the progress of phased training.", role=PATH),

    Key("version", VERSION_TYPE, "2.0.0", "Version of this file's format; ilab config migrate updates it."),
]

KEYS: dict[str, Key] = {entry.path: entry for entry in ENTRIES if isinstance(entry, Key)}
SECTIONS: dict[str, Section] = {entry.path: entry for entry in ENTRIES if isinstance(entry, Section)}


def key_for(path: str, version: int = CURRENT_VERSION) -> Key | None:
    key = KEYS.get(path)
    return key if key is not None and key.since <= version else None


def section_for(path: str, version: int = CURRENT_VERSION) -> Section | None:
    section = SECTIONS.get(path)
    return section if section is not None and section.since <= version else None


def children(prefix: str, version: int = CURRENT_VERSION) -> list[str]:
    """Return the names of the keys and sections directly under ``prefix`` ("" for the top), sorted."""
    depth = prefix.count(".") + 1 if prefix else 0
    names = set()
    for entry in ENTRIES:
        if entry.since > version:
            continue
        parts = entry.path.split(".")
        if len(parts) == depth + 1 and ".".join(parts[:depth]) == prefix:
            names.add(parts[depth])
    return sorted(names)


def ref_keys(version: int = CURRENT_VERSION) -> list[Key]:
    return [key for key in KEYS.values() if key.accepts_ref and key.since <= version]
