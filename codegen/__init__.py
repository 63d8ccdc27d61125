"""scforhis's generator: the spec in spec/ becomes everything in generated/.

`python -m codegen check` checks the spec; `python -m codegen generate` writes generated/.
"""
