#!/usr/bin/env python3
"""Writes an assembler file that embeds a model file's bytes (.incbin) between two symbols, for the build.
Usage: embed_model.py MODEL OUTPUT.S"""
import os
import sys

model, output = os.path.abspath(sys.argv[1]), sys.argv[2]
with open(output, "w") as f:
    # The size in a comment makes the text change whenever the model does, so the object is rebuilt.
    f.write(f"/* {os.path.basename(model)}: {os.path.getsize(model)} bytes, mtime {os.path.getmtime(model)} */\n")
    f.write('\t.section .rodata\n\t.balign 64\n\t.global retinanet_default_model_begin\n'
            'retinanet_default_model_begin:\n'
            f'\t.incbin "{model}"\n'
            '\t.global retinanet_default_model_end\n'
            'retinanet_default_model_end:\n'
            '\t.section .note.GNU-stack,"",@progbits\n')
