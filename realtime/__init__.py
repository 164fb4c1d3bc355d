"""Real-time stylisation on onnxruntime, OpenCV and numpy: never imports torch.

It runs the graphs that ``adain export --onnx`` writes: ``style_encoder.onnx`` once per
style, ``stylizer.onnx`` per frame.
"""
