; train_mlp.lisp - the manual's training loop: an MLP learns a small mapping,
; and the loss falls.
(use 'lispe_torch)

(torch_manual_seed 42)

; four examples of 4 features -> 2 outputs
(setq input_data (tensor_create (list (floats 0 0 1 0) (floats 0 1 0 1) (floats 1 0 0 1) (floats 1 1 1 1))))
(setq targets (tensor_create (list (floats 1 0) (floats 0 1) (floats 0 1) (floats 1 0))))

; 4 inputs, 64 hidden, 2 outputs; Adam
(setq model (torch_model 4 64 2))
(setq optimizer (torch_optimizer model 0.01 "adam"))

(setq first_loss 0)
(setq last_loss 0)
(loop epoch (range 0 300 1)
    (setq predictions (torch_forward model input_data))
    (setq loss (torch_mse_loss predictions targets))
    (torch_optimizer_zero_grad optimizer)
    (torch_backward loss)
    (torch_optimizer_step optimizer)
    (if (eq epoch 0) (setq first_loss (tensor_item loss)))
    (setq last_loss (tensor_item loss))
    (if (eq (% epoch 50) 0)
        (println "Epoch:" epoch "Loss:" loss)))

(println "first loss:" first_loss "last loss:" last_loss)
(println "Final predictions:" (torch_forward model input_data))
(if (< last_loss (* 0.05 first_loss))
    (println "the loss fell - example done")
    (println "FAIL: the loss did not fall enough"))
