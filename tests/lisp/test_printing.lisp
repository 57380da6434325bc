; test_printing.lisp - a tensor prints like PyTorch's repr (texts from
; tests/data/repr_golden.txt, generated with Python PyTorch)
(use 'lispe_torch)
(load (+ _current "lib/check.lisp"))

(defun lt_repr (what t expected)
   (setq got (string t))
   (lt_check what (eq got expected))
   (if (not (eq got expected))
      (block
         (println "  expected:" expected)
         (println "  got:     " got))))

(setq base (tensor_in_memory))

(defun printing ()
   (lt_repr "floats" (tensor_create (floats 1 2 3)) "tensor([1., 2., 3.])")
   (lt_repr "signed decimals" (tensor_create (floats 1.5 -2.25 3)) "tensor([ 1.5000, -2.2500,  3.0000])")
   (lt_repr "int64 matrix"
      (tensor_reshape (tensor_create (integers 1 2 3 4 5 6)) (integers 2 3))
      "tensor([[1, 2, 3],\n        [4, 5, 6]])")
   (lt_repr "scientific" (tensor_create (floats 0.0001 1000 5)) "tensor([1.0000e-04, 1.0000e+03, 5.0000e+00])")
   (lt_repr "float64" (tensor_create (numbers 123456789 1)) "tensor([1.2346e+08, 1.0000e+00], dtype=torch.float64)")
   (lt_repr "zeros" (tensor_zeros (integers 3)) "tensor([0., 0., 0.])")
   (lt_repr "bool" (tensor_create (integers 1 0 1) "bool") "tensor([ True, False,  True])")
   (lt_repr "0-dim float" (tensor_create 3.25) "tensor(3.2500)")
   (lt_repr "0-dim int" (tensor_create 7) "tensor(7)")
   (lt_repr "float64 pair" (tensor_create (numbers 1 2)) "tensor([1., 2.], dtype=torch.float64)")
   (lt_repr "int32" (tensor_create (integers 1 2) "int32") "tensor([1, 2], dtype=torch.int32)")
   (lt_repr "float16" (tensor_create (floats 1 2) "float16") "tensor([1., 2.], dtype=torch.float16)")
   (lt_repr "empty" (tensor_create (floats)) "tensor([])")
   (lt_repr "empty 0x3" (tensor_zeros (integers 0 3) "int64") "tensor([], size=(0, 3), dtype=torch.int64)")
   (lt_repr "requires_grad" (tensor_requires_grad (tensor_create (floats 1 2 3)) true)
      "tensor([1., 2., 3.], requires_grad=True)")
   (lt_repr "summarized" (tensor_arange 0 2000)
      "tensor([   0,    1,    2,  ..., 1997, 1998, 1999])")
   (setq a (tensor_sub (tensor_div (tensor_arange 0 24 1 "float32") 7) 2))
   (lt_repr "3-d" (tensor_reshape a (integers 2 3 4))
      (+ "tensor([[[-2.0000, -1.8571, -1.7143, -1.5714],\n"
         "         [-1.4286, -1.2857, -1.1429, -1.0000],\n"
         "         [-0.8571, -0.7143, -0.5714, -0.4286]],\n"
         "\n"
         "        [[-0.2857, -0.1429,  0.0000,  0.1429],\n"
         "         [ 0.2857,  0.4286,  0.5714,  0.7143],\n"
         "         [ 0.8571,  1.0000,  1.1429,  1.2857]]])"))
   ; the same text through LispE's printing paths
   (setq t (tensor_create (floats 1 2 3)))
   (lt_check "string of a list holding a tensor" (eq (string (list t)) "(tensor([1., 2., 3.]))"))
   (lt_check "format" (eq (format "%1" t) "tensor([1., 2., 3.])"))
   (println "printed:" t)
   (lt_check "type of a tensor" (eq (string (type t)) "tensor_")))
(printing)

(lt_check "all tensors freed" (= (tensor_in_memory) base))

(lt_report)
