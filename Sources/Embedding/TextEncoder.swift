// Placeholder: the encoder is being written (tokenizer, safetensors, BERT forward).
public enum EmbeddingPlaceholder {}
